//! `yiwang`: the Yiwang (一网) government-services platform.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use yiwang_demo as demo;
use yiwang_server::config::{Config, Overrides};
use yiwang_server::{bind, init_logging, open_database, serve, shutdown_signal, system_clock};

#[derive(Debug, Parser)]
#[command(
    name = "yiwang",
    version,
    about = "Yiwang (一网) integrated online government-services platform"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct GlobalArgs {
    /// TOML configuration file (values in it are overridden by YIWANG_* variables and flags).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory holding the SQLite database, uploaded files and calendar additions.
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the portals and the API.
    Serve {
        /// Address to listen on, e.g. 0.0.0.0:8080.
        #[arg(long)]
        addr: Option<String>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load the demo data into the configured database (SQLite in the data directory unless
    /// database_url says otherwise, PostgreSQL too), then serve it. Loading again changes nothing.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// Load the demo data and exit without serving.
        #[arg(long)]
        no_serve: bool,
    },
    /// The audit chain.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The working-day (调休) calendar.
    Calendar {
        #[command(subcommand)]
        command: CalendarCommand,
    },
    /// Print the effective configuration (secrets hidden).
    Config,
    /// Back up the database and the material files into a new directory: a consistent online copy
    /// (SQLite `VACUUM INTO`, PostgreSQL `pg_dump` on one snapshot) and a manifest of row counts and
    /// the audit head. Keys are not included: back them up separately.
    Backup {
        /// The directory to create (it must not exist or be empty).
        dir: PathBuf,
    },
    /// Restore a backup into the configured (empty) database and data directory, then check every
    /// table's row count and the audit chain against the backup's manifest.
    Restore {
        /// The backup directory.
        dir: PathBuf,
    },
    /// Platform administration: Open311 clients.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Staff accounts (e.g. the first platform administrator of a new installation).
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// The service catalog (事项库): import and export as JSON or CSV.
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
    },
    /// E-licences (电子证照): offline verification and seal keys.
    Licence {
        #[command(subcommand)]
        command: LicenceCommand,
    },
}

#[derive(Debug, Subcommand)]
enum LicenceCommand {
    /// Verify a downloaded licence document (or a QR payload) without the network: prints valid,
    /// revoked, expired or forged with the public fields; exits 1 unless valid.
    Verify {
        /// The licence document JSON (with `keys` and `revocations` bundled), or a QR payload.
        file: PathBuf,
        /// Public keys (`GET /api/v1/licences/keys`), instead of the bundled ones.
        #[arg(long)]
        keys: Option<PathBuf>,
        /// A signed revocation list (`GET /api/v1/licences/revocations`), instead of the bundled one.
        #[arg(long)]
        revocations: Option<PathBuf>,
        /// Print the verdict as one JSON line.
        #[arg(long)]
        json: bool,
    },
    /// Rotate a department's seal key (or `platform`, the revocation-list key): a new SM2 key pair
    /// signs from now on; the old one stays published and keeps verifying what it signed.
    RotateKey {
        /// Department code, e.g. hf-scjgj, or platform.
        department: String,
    },
}

#[derive(Debug, Subcommand)]
enum CatalogCommand {
    /// Import items from a JSON or CSV file. Every row is checked first; if any is bad, each bad row is
    /// printed with its reason, nothing is imported and the exit status is 1.
    Import {
        /// The file (.json or .csv).
        file: PathBuf,
        /// json or csv; by default from the file name.
        #[arg(long)]
        format: Option<String>,
    },
    /// Write the items in effect to standard output.
    Export {
        /// json (default) or csv.
        #[arg(long, default_value = "json")]
        format: String,
    },
}

#[derive(Debug, Subcommand)]
enum StaffCommand {
    /// Create a staff member. The password is read from YIWANG_STAFF_PASSWORD or, if unset, from the first
    /// line of standard input (so it never appears in the process list or shell history).
    Create {
        /// Department code, e.g. hf-sjzyj.
        #[arg(long)]
        department: String,
        /// Employee number (工号).
        #[arg(long)]
        employee_no: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        mobile: String,
        /// Role code; repeat for several (window_staff, approver, department_admin, platform_admin, …).
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Post code of the department; repeat for several.
        #[arg(long = "post")]
        posts: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create an Open311 GeoReport v2 client and print its api_key once (only its hash is kept).
    #[command(name = "open311-client")]
    Open311Client {
        /// The client's name, e.g. the partner system (unique).
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check every entry's hash link, and with audit_key every anchor; exits non-zero at the first
    /// broken entry.
    Verify,
    /// Anchor the chain's head now with audit_key (a serving node does it every audit_anchor_minutes).
    Anchor,
}

#[derive(Debug, Subcommand)]
enum CalendarCommand {
    /// Print true if DATE (YYYY-MM-DD) is a working day, else false.
    IsWorkingDay { date: String },
    /// Print the N-th working day after DATE as YYYY-MM-DD.
    AddWorkingDays { date: String, n: u32 },
    /// List the years the calendar has data for.
    Years,
}

fn main() -> ExitCode {
    yiwang_server::restrict_new_file_modes();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn parse_date(text: &str) -> anyhow::Result<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .with_context(|| format!("{text:?} is not a date in the form YYYY-MM-DD"))
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let addr = match &cli.command {
        Command::Serve { addr } => addr.clone(),
        Command::Demo { addr, .. } => Some(addr.clone()),
        _ => None,
    };
    let mut overrides = Overrides {
        config_file: cli.global.config.clone(),
        data_dir: cli.global.data_dir.clone(),
        addr,
    };
    if matches!(cli.command, Command::Demo { .. }) && overrides.data_dir.is_none() {
        overrides.data_dir = std::env::var_os("YIWANG_DATA_DIR")
            .map(PathBuf::from)
            .or(Some(PathBuf::from("data")));
    }
    let env = |name: &str| std::env::var(name).ok();
    let mut config = Config::load(&overrides, &env)?;
    let clock = system_clock();
    match cli.command {
        Command::Serve { .. } => {
            init_logging(config.log_format);
            let db = open_database(&config, &clock).await?;
            let listener = bind(&config).await?;
            let local = listener.local_addr()?;
            tracing::info!(addr = %local, backend = db.backend().name(), "Yiwang is serving");
            println!("Yiwang is serving on http://{local}/");
            serve(&config, db, clock, listener, shutdown_signal()).await?;
        }
        Command::Migrate => {
            let url = config.database_url();
            let db = yiwang_db::Db::connect(&url).await?;
            let report = yiwang_db::migrate::run(&db, clock.now()).await?;
            for (version, name) in &report.applied {
                println!("applied migration {version:04} {name}");
            }
            println!(
                "database is up to date ({} applied now, {} before)",
                report.applied.len(),
                report.already
            );
            db.close().await?;
        }
        Command::Demo { no_serve, .. } => {
            init_logging(config.log_format);
            // The demo goes into the configured database (so several nodes on one PostgreSQL database
            // share it) and has no SMS gateway: one-time codes are shown in the console instead.
            config.log_message_text = true;
            // Claims to represent an enterprise are checked against the demo's register extract.
            config
                .enterprise_register
                .get_or_insert_with(|| "demo".to_owned());
            let db = open_database(&config, &clock).await?;
            let setup = yiwang_server::demo_setup(&config, &db, &clock)?;
            let report = demo::load(&setup).await?;
            println!(
                "demo data loaded into {}: {} regions changed, {} departments created, {} updated, {} unchanged, {} people registered, {} staff created, {} enterprises registered, {} service items created, {} updated, {} unchanged, {} life events created or updated, {} halls and clinics created, {} windows and doctors created, {} slots created, {} booking staff created, {} bookings made, {} queue tickets taken, {} case workflows published, {} demo cases created, {} ratings ({} 差评 with their rectifications), {} requests categories, {} knowledge-base answers added, {} citizen requests created",
                yiwang_db::redact_url(&config.database_url()),
                report.org.regions_changed,
                report.org.departments_created,
                report.org.departments_updated,
                report.org.departments_unchanged,
                report.persons_created,
                report.staff_created,
                report.enterprises_created,
                report.catalog.items.created,
                report.catalog.items.updated,
                report.catalog.items.unchanged,
                report.catalog.life_events,
                report.appointments.groups_created,
                report.appointments.resources_created,
                report.appointments.slots_created,
                report.appointments.staff_created,
                report.appointments.bookings_created,
                report.appointments.tickets_taken,
                report.cases.workflows_published,
                report.cases.cases_created,
                report.cases.ratings.ratings,
                report.cases.ratings.bad,
                report.requests.categories,
                report.requests.answers_added,
                report.requests.requests_created
            );
            if no_serve {
                db.close().await?;
                return Ok(ExitCode::SUCCESS);
            }
            let listener = bind(&config).await?;
            let local = listener.local_addr()?;
            println!("Yiwang demo is running at http://{local}/  (Ctrl-C to stop)");
            println!("  citizen portal:  http://{local}/");
            println!("  departments:     http://{local}/departments");
            println!(
                "  service search:  http://{local}/search?q=jhdj   (try 开饭店, 结婚登记, gjj)"
            );
            println!("  life events:     http://{local}/life-events");
            println!("  staff catalog:   http://{local}/staff/catalog");
            println!(
                "  my cases:        http://{local}/my/cases   progress query: http://{local}/progress   disclosures: http://{local}/disclosures"
            );
            println!(
                "  staff workbench: http://{local}/staff/cases   counter: /staff/counter   supervision: /staff/supervision   workflows: /staff/workflows"
            );
            println!("  appointments:    http://{local}/appointments");
            println!(
                "  hall kiosk:      http://{local}/halls/{}/kiosk   board: http://{local}/halls/{}/board",
                demo::HALL_CODE,
                demo::HALL_CODE
            );
            println!("  staff queues:    http://{local}/staff/appointments");
            println!("  API document:    http://{local}/api/v1/openapi.json");
            println!(
                "  Open311:         http://{local}/open311/v2/discovery.json   jurisdiction_id {}   api_key {} ({})",
                config.region_code,
                demo::requests::open311_key(&setup.pii),
                demo::requests::OPEN311_CLIENT
            );
            println!("demo logins (password {} for all):", demo::DEMO_PASSWORD);
            println!("  citizens log in at http://{local}/login with their mobile number:");
            for login in demo::DEMO_LOGINS {
                println!("    {:<16} {}  {}", login.role, login.mobile, login.name);
            }
            println!(
                "    enterprise       {} is represented by {}, with {} as its agent",
                demo::DEMO_ENTERPRISE.1,
                demo::DEMO_LOGINS[0].name,
                demo::DEMO_LOGINS[1].name
            );
            println!(
                "  staff log in at http://{local}/staff/login with their employee number (工号):"
            );
            for staff in demo::DEMO_STAFF.iter().chain(demo::DEMO_APPOINTMENT_STAFF) {
                println!(
                    "    {:<16} {}  {} ({})",
                    staff.role, staff.employee_no, staff.name, staff.department
                );
            }
            println!(
                "  demo cases in every state; the showcase items (their staff are listed above):"
            );
            for showcase in demo::SHOWCASES {
                println!("    {:<20} {}", showcase.name, showcase.shows);
            }
            serve(&config, db, clock, listener, shutdown_signal()).await?;
        }
        Command::Audit {
            command: AuditCommand::Anchor,
        } => {
            let key = config
                .audit_anchor_key()
                .context("set audit_key (YIWANG_AUDIT_KEY) to anchor the audit chain")?;
            let db = yiwang_db::Db::connect(&config.database_url()).await?;
            let anchor = yiwang_db::audit::anchor(&db, clock.now(), &key).await?;
            db.close().await?;
            match anchor {
                Some(anchor) => println!(
                    "audit chain anchored at entry {} ({}), mac {}",
                    anchor.seq, anchor.at, anchor.mac
                ),
                None => println!("nothing new to anchor"),
            }
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let url = config.database_url();
            let db = yiwang_db::Db::connect(&url).await?;
            let keys = config.audit_anchor_keys();
            let report =
                yiwang_db::audit::verify_with(&db, (!keys.is_empty()).then_some(&keys[..])).await?;
            db.close().await?;
            match report.broken {
                None if keys.is_empty() => println!(
                    "audit chain intact: {} entries checked (anchors not checked: no audit_key)",
                    report.checked
                ),
                None => {
                    println!(
                        "audit chain intact: {} entries checked, {} anchors checked",
                        report.checked, report.anchors_checked
                    );
                    match report.last_anchor {
                        Some(anchor) => println!(
                            "newest anchor: entry {} at {}, mac {} ({} entries after it)",
                            anchor.seq,
                            anchor.at,
                            anchor.mac,
                            report.checked.saturating_sub(anchor.seq as u64)
                        ),
                        None => println!("no anchors yet"),
                    }
                }
                Some(broken) => {
                    println!(
                        "audit chain BROKEN at entry {}: {} ({} entries before it are intact)",
                        broken.seq, broken.reason, report.checked
                    );
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        Command::Calendar { command } => {
            let calendar = yiwang_server::config::load_calendar(&config.calendar_dir())?;
            match command {
                CalendarCommand::IsWorkingDay { date } => {
                    let date = parse_date(&date)?;
                    println!("{}", calendar.is_working_day(date));
                }
                CalendarCommand::AddWorkingDays { date, n } => {
                    let date = parse_date(&date)?;
                    println!("{}", calendar.add_working_days(date, n).format("%Y-%m-%d"));
                }
                CalendarCommand::Years => {
                    for year in calendar.years() {
                        println!("{year}");
                    }
                }
            }
        }
        Command::Config => print!("{}", config.describe()),
        Command::Backup { dir } => {
            let db = yiwang_db::Db::connect(&config.database_url()).await?;
            let manifest = yiwang_server::backup::backup(&config, &db, &clock, &dir).await?;
            db.close().await?;
            println!(
                "backup written to {}: {} database, {} tables, {} rows, {} material files, audit head at entry {}",
                dir.display(),
                manifest.backend,
                manifest.tables.len(),
                manifest.tables.values().sum::<i64>(),
                manifest.files,
                manifest.audit_seq
            );
        }
        Command::Restore { dir } => {
            let report = yiwang_server::backup::restore(&config, &dir).await?;
            println!(
                "restored {} into {}: {} tables and {} material files match the backup, audit chain intact ({} entries, {} anchors checked)",
                dir.display(),
                yiwang_db::redact_url(&config.database_url()),
                report.manifest.tables.len(),
                report.manifest.files,
                report.audit_checked,
                report.anchors_checked
            );
        }
        Command::Licence {
            command:
                LicenceCommand::Verify {
                    file,
                    keys,
                    revocations,
                    json,
                },
        } => {
            let read = |p: Option<&std::path::Path>| {
                p.map(yiwang_server::licence::read_bounded).transpose()
            };
            let text = yiwang_server::licence::read_bounded(&file)?;
            let verdict = yiwang_server::licence::verify_text(
                &text,
                read(keys.as_deref())?.as_deref(),
                read(revocations.as_deref())?.as_deref(),
                clock.now(),
            )?;
            if json {
                println!("{}", serde_json::to_string(&verdict)?);
            } else {
                print!("{}", yiwang_server::licence::describe(&verdict));
            }
            if verdict.outcome != yiwang_licenses::Outcome::Valid {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Licence {
            command: LicenceCommand::RotateKey { department },
        } => {
            let db = open_database(&config, &clock).await?;
            let calendar = yiwang_server::config::load_calendar(&config.calendar_dir())?;
            let licenses = yiwang_server::licenses(&config, &db, &clock, &calendar)?;
            let key_id = licenses
                .rotate_key(
                    &yiwang_identity::policy::Principal::System,
                    &department,
                    "cli",
                )
                .await?;
            db.close().await?;
            println!(
                "{department} now signs with {key_id}; earlier keys stay published for verification"
            );
        }
        Command::Catalog { command } => {
            let db = open_database(&config, &clock).await?;
            let catalog = yiwang_catalog::Catalog::new(db.clone(), clock.clone())?;
            let origin = yiwang_catalog::Origin {
                ip: "cli".to_owned(),
            };
            let code = match command {
                CatalogCommand::Import { file, format } => {
                    let name = file.display().to_string();
                    let format = match format {
                        Some(f) => yiwang_catalog::transfer::Format::parse(&f),
                        None => yiwang_catalog::transfer::Format::from_file_name(&name),
                    }
                    .ok_or_else(|| anyhow::anyhow!("give --format json or csv for {name}"))?;
                    let bytes =
                        std::fs::read(&file).with_context(|| format!("cannot read {name}"))?;
                    match catalog
                        .import(
                            &yiwang_identity::policy::Principal::System,
                            format,
                            &bytes,
                            &origin,
                        )
                        .await
                    {
                        Ok(report) => {
                            println!(
                                "imported {name}: {} items created, {} updated, {} unchanged",
                                report.created, report.updated, report.unchanged
                            );
                            ExitCode::SUCCESS
                        }
                        Err(yiwang_catalog::CatalogError::ImportRejected(rows)) => {
                            eprintln!("{name}: {} bad rows; nothing was imported", rows.len());
                            for row in rows {
                                eprintln!(
                                    "  row {} {} {}: {}",
                                    row.row, row.impl_code, row.field, row.message
                                );
                            }
                            ExitCode::FAILURE
                        }
                        Err(other) => return Err(other.into()),
                    }
                }
                CatalogCommand::Export { format } => {
                    let format = yiwang_catalog::transfer::Format::parse(&format)
                        .ok_or_else(|| anyhow::anyhow!("the format is json or csv"))?;
                    let bytes = catalog.export(format).await?;
                    std::io::Write::write_all(&mut std::io::stdout(), &bytes)?;
                    ExitCode::SUCCESS
                }
            };
            db.close().await?;
            return Ok(code);
        }
        Command::Staff {
            command:
                StaffCommand::Create {
                    department,
                    employee_no,
                    name,
                    mobile,
                    roles,
                    posts,
                },
        } => {
            let password = match std::env::var("YIWANG_STAFF_PASSWORD") {
                Ok(password) if !password.is_empty() => password,
                _ => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .context("cannot read the password from standard input")?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let raw = yiwang_identity::model::RawNewStaff {
                employee_no,
                name,
                mobile,
                password,
                roles,
                posts,
            };
            let new = yiwang_identity::model::NewStaff::parse(&raw).map_err(|errors| {
                let lines: Vec<String> = errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect();
                anyhow::anyhow!("the staff member is not valid:\n  {}", lines.join("\n  "))
            })?;
            let db = open_database(&config, &clock).await?;
            let accounts = yiwang_server::accounts(&config, &db, &clock)?;
            let mut rng: rand::rngs::StdRng = rand::make_rng();
            let meta = yiwang_identity::model::ClientMeta {
                ip: "cli".to_owned(),
                user_agent: String::new(),
            };
            let staff = accounts
                .create_staff(
                    &yiwang_identity::policy::Principal::System,
                    "cli",
                    &department,
                    &new,
                    &meta,
                    &mut rng,
                )
                .await?;
            db.close().await?;
            println!(
                "created staff {} {} in {} with roles [{}]",
                staff.employee_no,
                staff.name,
                staff.department_code,
                staff
                    .roles
                    .iter()
                    .map(|r| r.code())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        Command::Admin {
            command: AdminCommand::Open311Client { name },
        } => {
            let db = open_database(&config, &clock).await?;
            let calendar = std::sync::Arc::new(yiwang_server::config::load_calendar(
                &config.calendar_dir(),
            )?);
            let requests = yiwang_server::requests(&config, &db, &clock, &calendar)?;
            let (client, key) = requests
                .create_open311_client(&yiwang_identity::policy::Principal::System, &name, "cli")
                .await?;
            db.close().await?;
            println!(
                "created Open311 client {} ({}) for jurisdiction_id {}",
                client.id, client.name, config.region_code
            );
            println!("api_key: {key}");
            println!("(shown once: only its hash is kept)");
        }
    }
    Ok(ExitCode::SUCCESS)
}
