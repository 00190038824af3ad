//! Open311 GeoReport v2 at `/open311/v2/`: the discovery document, the service list (the leaf
//! categories of the 派单目录) and their definitions, requests read by anyone (never a 举报, a
//! petition or the submitter) and posted by a registered client with its `api_key` on the `api`
//! channel, and tokens. Every resource answers in JSON (`.json`) and XML (`.xml`); errors are the
//! specification's `[{"code", "description"}]` and `<errors><error><code/><description/></error>`.
//!
//! Times are ISO 8601 with the China offset (`2026-02-13T09:00:00+08:00`). One jurisdiction is
//! served: the platform's region code; a request naming another `jurisdiction_id` is 404.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, FixedOffset, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use yiwang_requests::RequestError;
use yiwang_requests::model::{Category, NewRequest, PublicRequest, RequestKind, Status};
use yiwang_requests::repo::PublicFilter;
use yiwang_requests::service::{MAX_NOTE_CHARS, MAX_TEXT_CHARS, MAX_TITLE_CHARS};

use crate::auth::Client;
use crate::state::AppState;

/// The specification the discovery document names.
pub const SPECIFICATION: &str = "http://wiki.open311.org/GeoReport_v2";
/// How far back `requests` looks without `start_date` (the specification's default of 90 days).
pub const DEFAULT_DAYS: i64 = 90;
/// Most ids in one `service_request_id` list.
pub const MAX_IDS: usize = 100;
/// Longest query or form value read.
pub const MAX_VALUE_CHARS: usize = 2_000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/open311/v2/{file}", get(top).post(post_request))
        .route("/open311/v2/services/{file}", get(service_definition))
        .route("/open311/v2/requests/{file}", get(one_request))
        .route("/open311/v2/tokens/{file}", get(token))
}

// ------------------------------------------------------------------------------------- formats

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Xml,
}

/// `name.json` or `name.xml` into its name and format.
fn split_file(file: &str) -> Option<(&str, Format)> {
    let (name, ext) = file.rsplit_once('.')?;
    let format = match ext {
        "json" => Format::Json,
        "xml" => Format::Xml,
        _ => return None,
    };
    (!name.is_empty()).then_some((name, format))
}

/// One field of a record.
#[derive(Debug, Clone)]
enum Field {
    Text(String),
    Number(f64),
    Int(i64),
    Bool(bool),
    Null,
    /// A list of texts, each an element named `.0` in XML.
    Texts(&'static str, Vec<String>),
    /// A list of records, each an element named `.0` in XML.
    Records(&'static str, Vec<Record>),
}

type Record = Vec<(&'static str, Field)>;

fn text(s: impl Into<String>) -> Field {
    Field::Text(s.into())
}

fn opt_time(t: Option<DateTime<Utc>>) -> Field {
    t.map_or(Field::Null, |t| Field::Text(iso(t)))
}

/// ISO 8601 with the China offset.
pub fn iso(t: DateTime<Utc>) -> String {
    match FixedOffset::east_opt(8 * 3600) {
        Some(china) => t
            .with_timezone(&china)
            .to_rfc3339_opts(SecondsFormat::Secs, false),
        None => t.to_rfc3339_opts(SecondsFormat::Secs, false),
    }
}

fn json_of(record: &Record) -> Value {
    let mut map = Map::new();
    for (name, field) in record {
        let value = match field {
            Field::Text(s) => Value::String(s.clone()),
            Field::Number(n) => json!(n),
            Field::Int(n) => json!(n),
            Field::Bool(b) => Value::Bool(*b),
            Field::Null => Value::Null,
            Field::Texts(_, list) => json!(list),
            Field::Records(_, list) => Value::Array(list.iter().map(json_of).collect()),
        };
        map.insert((*name).to_owned(), value);
    }
    Value::Object(map)
}

fn escape(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry are left out.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
}

fn xml_record(out: &mut String, element: &str, record: &Record) {
    let _ = write!(out, "<{element}>");
    for (name, field) in record {
        match field {
            Field::Null => {
                let _ = write!(out, "<{name}/>");
            }
            Field::Texts(child, list) => {
                let _ = write!(out, "<{name}>");
                for item in list {
                    let _ = write!(out, "<{child}>");
                    escape(out, item);
                    let _ = write!(out, "</{child}>");
                }
                let _ = write!(out, "</{name}>");
            }
            Field::Records(child, list) => {
                let _ = write!(out, "<{name}>");
                for item in list {
                    xml_record(out, child, item);
                }
                let _ = write!(out, "</{name}>");
            }
            Field::Text(s) => {
                let _ = write!(out, "<{name}>");
                escape(out, s);
                let _ = write!(out, "</{name}>");
            }
            Field::Number(n) => {
                let _ = write!(out, "<{name}>{n}</{name}>");
            }
            Field::Int(n) => {
                let _ = write!(out, "<{name}>{n}</{name}>");
            }
            Field::Bool(b) => {
                let _ = write!(out, "<{name}>{b}</{name}>");
            }
        }
    }
    let _ = write!(out, "</{element}>");
}

const XML_HEAD: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>";

fn respond(status: StatusCode, format: Format, body: String) -> Response {
    let content_type = match format {
        Format::Json => "application/json; charset=utf-8",
        Format::Xml => "text/xml; charset=utf-8",
    };
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A list of records: a JSON array, or `<root><child>…</child>…</root>`.
fn list(
    format: Format,
    status: StatusCode,
    root: &str,
    child: &str,
    records: &[Record],
) -> Response {
    let body = match format {
        Format::Json => Value::Array(records.iter().map(json_of).collect()).to_string(),
        Format::Xml => {
            let mut out = String::from(XML_HEAD);
            let _ = write!(out, "<{root}>");
            for record in records {
                xml_record(&mut out, child, record);
            }
            let _ = write!(out, "</{root}>");
            out
        }
    };
    respond(status, format, body)
}

/// One record: a JSON object, or `<root>…</root>`.
fn single(format: Format, root: &str, record: &Record) -> Response {
    let body = match format {
        Format::Json => json_of(record).to_string(),
        Format::Xml => {
            let mut out = String::from(XML_HEAD);
            xml_record(&mut out, root, record);
            out
        }
    };
    respond(StatusCode::OK, format, body)
}

/// An error as the specification writes it.
#[derive(Debug)]
struct Failure {
    status: StatusCode,
    description: String,
}

fn fail(status: StatusCode, description: impl Into<String>) -> Failure {
    Failure {
        status,
        description: description.into(),
    }
}

impl Failure {
    fn render(self, format: Format) -> Response {
        let record: Record = vec![
            ("code", Field::Int(i64::from(self.status.as_u16()))),
            ("description", text(self.description)),
        ];
        list(format, self.status, "errors", "error", &[record])
    }
}

impl From<RequestError> for Failure {
    fn from(error: RequestError) -> Self {
        match &error {
            RequestError::Required(field) => fail(
                StatusCode::BAD_REQUEST,
                format!("{} is required", open311_field(field)),
            ),
            RequestError::TooLong(field) => fail(
                StatusCode::BAD_REQUEST,
                format!("{} is too long", open311_field(field)),
            ),
            RequestError::MobileRequired => fail(
                StatusCode::BAD_REQUEST,
                "phone is required: the 12345 centre calls the requester back",
            ),
            RequestError::BadMobile => fail(
                StatusCode::BAD_REQUEST,
                "phone is not a valid mainland mobile number",
            ),
            RequestError::BadCoordinates => {
                fail(StatusCode::BAD_REQUEST, "lat and long are not valid")
            }
            RequestError::UnknownRegion(_) => fail(
                StatusCode::BAD_REQUEST,
                "the location is outside the jurisdiction",
            ),
            RequestError::UnknownCategory(_) => {
                fail(StatusCode::NOT_FOUND, "service_code not found")
            }
            _ => {
                tracing::error!(%error, "open311 request failed");
                fail(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        }
    }
}

/// The Open311 name of a domain field.
fn open311_field(field: &str) -> &str {
    match field {
        "body" => "description",
        "location" => "address_string",
        "contact_name" => "first_name and last_name",
        "media_url" => "media_url",
        other => other,
    }
}

/// Query or form pairs; a value read once, later repeats ignored.
fn pairs(raw: &str) -> Result<BTreeMap<String, String>, Failure> {
    let list: Vec<(String, String)> = serde_urlencoded::from_str(raw)
        .map_err(|_| fail(StatusCode::BAD_REQUEST, "the parameters do not parse"))?;
    let mut map = BTreeMap::new();
    for (k, v) in list {
        if v.chars().nth(MAX_VALUE_CHARS).is_some() {
            return Err(fail(StatusCode::BAD_REQUEST, format!("{k} is too long")));
        }
        map.entry(k).or_insert(v);
    }
    Ok(map)
}

fn value<'a>(map: &'a BTreeMap<String, String>, key: &str) -> &'a str {
    map.get(key).map_or("", |v| v.trim())
}

/// Only the platform's region is served.
fn check_jurisdiction(state: &AppState, map: &BTreeMap<String, String>) -> Result<(), Failure> {
    match value(map, "jurisdiction_id") {
        "" => Ok(()),
        j if j == state.config().region_code => Ok(()),
        _ => Err(fail(StatusCode::NOT_FOUND, "jurisdiction_id not found")),
    }
}

// ------------------------------------------------------------------------------------- records

fn leaves(all: &[Category]) -> Vec<&Category> {
    all.iter()
        .filter(|c| {
            !all.iter()
                .any(|o| o.parent.as_deref() == Some(c.code.as_str()))
        })
        .collect()
}

fn service_record(c: &Category, all: &[Category]) -> Record {
    let group = c
        .parent
        .as_deref()
        .and_then(|p| all.iter().find(|o| o.code == p))
        .map_or_else(String::new, |p| p.name.clone());
    vec![
        ("service_code", text(c.code.clone())),
        ("service_name", text(c.name.clone())),
        (
            "description",
            text(if group.is_empty() {
                c.name.clone()
            } else {
                format!("{group} · {}", c.name)
            }),
        ),
        ("metadata", Field::Bool(false)),
        ("type", text("realtime")),
        ("keywords", text(String::new())),
        ("group", text(group)),
    ]
}

fn request_record(r: &PublicRequest) -> Record {
    let open = r.status.is_open();
    let notes = if open || r.reply.is_empty() {
        r.status.zh().to_owned()
    } else {
        r.reply.clone()
    };
    let (lat, long) = r
        .coordinates
        .map_or((Field::Null, Field::Null), |(lon, lat)| {
            (Field::Number(lat), Field::Number(lon))
        });
    vec![
        ("service_request_id", text(r.public_id.clone())),
        ("status", text(if open { "open" } else { "closed" })),
        ("status_notes", text(notes)),
        ("service_name", text(r.category_name.clone())),
        ("service_code", text(r.category.clone())),
        ("description", text(r.body.clone())),
        (
            "agency_responsible",
            text(r.department.clone().unwrap_or_default()),
        ),
        ("service_notice", text(String::new())),
        ("requested_datetime", Field::Text(iso(r.created_at))),
        ("updated_datetime", Field::Text(iso(r.updated_at))),
        ("expected_datetime", opt_time(r.due_at)),
        ("address", text(r.location.clone())),
        ("address_id", text(String::new())),
        ("zipcode", text(String::new())),
        ("lat", lat),
        ("long", long),
        ("media_url", text(r.media_url.clone())),
    ]
}

// ------------------------------------------------------------------------------------- handlers

fn not_found_any(file: &str) -> Response {
    let format = split_file(file).map_or(Format::Json, |(_, f)| f);
    fail(StatusCode::NOT_FOUND, "not found").render(format)
}

/// `discovery`, `services` and `requests` (GET).
async fn top(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some((name, format)) = split_file(&file) else {
        return not_found_any(&file);
    };
    let result = match name {
        "discovery" => Ok(discovery(&state, format)),
        "services" => services(&state, query.as_deref().unwrap_or(""), format).await,
        "requests" => requests(&state, query.as_deref().unwrap_or(""), format).await,
        _ => Err(fail(StatusCode::NOT_FOUND, "not found")),
    };
    result.unwrap_or_else(|f| f.render(format))
}

fn discovery(state: &AppState, format: Format) -> Response {
    let changeset = "2026-12-01T00:00:00+08:00";
    let endpoint: Record = vec![
        ("specification", text(SPECIFICATION)),
        ("url", text("/open311/v2")),
        ("changeset", text(changeset)),
        ("type", text("production")),
        (
            "formats",
            Field::Texts(
                "format",
                vec!["text/xml".to_owned(), "application/json".to_owned()],
            ),
        ),
    ];
    let record: Record = vec![
        ("changeset", text(changeset)),
        (
            "contact",
            text(format!(
                "12345 政务服务便民热线（行政区划 {}）",
                state.config().region_code
            )),
        ),
        (
            "key_service",
            text(
                "API keys are issued by the platform administrators (yiwang admin open311-client).",
            ),
        ),
        ("jurisdiction_id", text(state.config().region_code.clone())),
        ("endpoints", Field::Records("endpoint", vec![endpoint])),
    ];
    single(format, "discovery", &record)
}

async fn services(state: &AppState, query: &str, format: Format) -> Result<Response, Failure> {
    let map = pairs(query)?;
    check_jurisdiction(state, &map)?;
    let all = state.requests().categories().await?;
    let records: Vec<Record> = leaves(&all)
        .into_iter()
        .map(|c| service_record(c, &all))
        .collect();
    Ok(list(
        format,
        StatusCode::OK,
        "services",
        "service",
        &records,
    ))
}

/// `services/{service_code}.json|xml`: the definition (no extra attributes are asked).
async fn service_definition(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some((code, format)) = split_file(&file) else {
        return not_found_any(&file);
    };
    let run = async {
        let map = pairs(query.as_deref().unwrap_or(""))?;
        check_jurisdiction(&state, &map)?;
        let all = state.requests().categories().await?;
        if !leaves(&all).iter().any(|c| c.code == code) {
            return Err(fail(StatusCode::NOT_FOUND, "service_code not found"));
        }
        let record: Record = vec![
            ("service_code", text(code)),
            ("attributes", Field::Records("attribute", Vec::new())),
        ];
        Ok::<_, Failure>(single(format, "service_definition", &record))
    };
    run.await.unwrap_or_else(|f| f.render(format))
}

fn parse_time(map: &BTreeMap<String, String>, key: &str) -> Result<Option<DateTime<Utc>>, Failure> {
    match value(map, key) {
        "" => Ok(None),
        t => DateTime::parse_from_rfc3339(t)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| {
                fail(
                    StatusCode::BAD_REQUEST,
                    format!("{key} is not an ISO 8601 time such as 2026-02-13T09:00:00+08:00"),
                )
            }),
    }
}

async fn requests(state: &AppState, query: &str, format: Format) -> Result<Response, Failure> {
    let map = pairs(query)?;
    check_jurisdiction(state, &map)?;
    let ids: Vec<String> = value(&map, "service_request_id")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if ids.len() > MAX_IDS {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            format!("at most {MAX_IDS} service_request_id"),
        ));
    }
    let mut statuses = Vec::new();
    for s in value(&map, "status")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        match s {
            "open" => statuses.extend(Status::ALL.iter().copied().filter(|s| s.is_open())),
            "closed" => statuses.extend(Status::ALL.iter().copied().filter(|s| !s.is_open())),
            _ => return Err(fail(StatusCode::BAD_REQUEST, "status is open or closed")),
        }
    }
    let from = parse_time(&map, "start_date")?;
    let to = parse_time(&map, "end_date")?;
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "start_date is after end_date",
        ));
    }
    let service_code = value(&map, "service_code");
    let filter = PublicFilter {
        // The specification: a list of ids ignores the other filters.
        category: (ids.is_empty() && !service_code.is_empty()).then(|| service_code.to_owned()),
        from: if ids.is_empty() {
            Some(from.unwrap_or_else(|| {
                to.unwrap_or_else(|| state.clock().now()) - Duration::days(DEFAULT_DAYS)
            }))
        } else {
            None
        },
        to: if ids.is_empty() { to } else { None },
        statuses: if ids.is_empty() { statuses } else { Vec::new() },
        public_ids: ids,
    };
    let found = state.requests().public_requests(&filter).await?;
    let records: Vec<Record> = found.iter().map(request_record).collect();
    Ok(list(
        format,
        StatusCode::OK,
        "service_requests",
        "request",
        &records,
    ))
}

/// `requests/{id}.json|xml`: one request, as a list of one.
async fn one_request(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some((id, format)) = split_file(&file) else {
        return not_found_any(&file);
    };
    let run = async {
        let map = pairs(query.as_deref().unwrap_or(""))?;
        check_jurisdiction(&state, &map)?;
        if id.chars().nth(super::requests::MAX_KEY_CHARS).is_some() {
            return Err(fail(StatusCode::NOT_FOUND, "service_request_id not found"));
        }
        let found = state
            .requests()
            .public_request(id)
            .await?
            .ok_or_else(|| fail(StatusCode::NOT_FOUND, "service_request_id not found"))?;
        Ok::<_, Failure>(list(
            format,
            StatusCode::OK,
            "service_requests",
            "request",
            &[request_record(&found)],
        ))
    };
    run.await.unwrap_or_else(|f| f.render(format))
}

/// `tokens/{token}.json|xml`: the request a post's token names.
async fn token(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some((token, format)) = split_file(&file) else {
        return not_found_any(&file);
    };
    let run = async {
        let map = pairs(query.as_deref().unwrap_or(""))?;
        check_jurisdiction(&state, &map)?;
        let id = state
            .requests()
            .open311_token(token)
            .await?
            .ok_or_else(|| fail(StatusCode::NOT_FOUND, "token not found"))?;
        let record: Record = vec![("service_request_id", text(id)), ("token", text(token))];
        Ok::<_, Failure>(list(
            format,
            StatusCode::OK,
            "service_requests",
            "request",
            &[record],
        ))
    };
    run.await.unwrap_or_else(|f| f.render(format))
}

/// `POST requests.json|xml`, form-encoded: a client's request on the `api` channel.
async fn post_request(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    Client(meta): Client,
    body: Bytes,
) -> Response {
    let Some((name, format)) = split_file(&file) else {
        return not_found_any(&file);
    };
    if name != "requests" {
        return fail(StatusCode::NOT_FOUND, "not found").render(format);
    }
    let run = async {
        let text_body = std::str::from_utf8(&body)
            .map_err(|_| fail(StatusCode::BAD_REQUEST, "the form is not UTF-8"))?;
        let mut map = pairs(text_body)?;
        // The specification lets api_key and jurisdiction_id come in the query string too.
        for (k, v) in pairs(query.as_deref().unwrap_or(""))? {
            map.entry(k).or_insert(v);
        }
        check_jurisdiction(&state, &map)?;
        let client = state
            .requests()
            .open311_client(value(&map, "api_key"))
            .await?
            .ok_or_else(|| fail(StatusCode::FORBIDDEN, "Invalid api_key"))?;
        let service_code = value(&map, "service_code");
        if service_code.is_empty() {
            return Err(fail(StatusCode::BAD_REQUEST, "service_code is required"));
        }
        let all = state.requests().categories().await?;
        let service = leaves(&all)
            .into_iter()
            .find(|c| c.code == service_code)
            .ok_or_else(|| fail(StatusCode::NOT_FOUND, "service_code not found"))?;
        let coordinates = match (value(&map, "lat"), value(&map, "long")) {
            ("", "") => None,
            (lat, lon) => {
                let lat: f64 = lat
                    .parse()
                    .map_err(|_| fail(StatusCode::BAD_REQUEST, "lat is not a number"))?;
                let lon: f64 = lon
                    .parse()
                    .map_err(|_| fail(StatusCode::BAD_REQUEST, "long is not a number"))?;
                Some((lon, lat))
            }
        };
        let address = value(&map, "address_string");
        if coordinates.is_none() && address.is_empty() {
            return Err(fail(
                StatusCode::BAD_REQUEST,
                "lat and long, or address_string, are required",
            ));
        }
        let description = value(&map, "description");
        if description.is_empty() {
            return Err(fail(StatusCode::BAD_REQUEST, "description is required"));
        }
        if description.chars().nth(MAX_TEXT_CHARS).is_some() {
            return Err(fail(StatusCode::BAD_REQUEST, "description is too long"));
        }
        let title: String = format!("{}：{description}", service.name)
            .chars()
            .take(MAX_TITLE_CHARS)
            .collect();
        let contact_name = format!("{}{}", value(&map, "last_name"), value(&map, "first_name"));
        if contact_name.chars().nth(MAX_NOTE_CHARS).is_some() {
            return Err(fail(StatusCode::BAD_REQUEST, "the name is too long"));
        }
        let new = NewRequest {
            kind: Some(RequestKind::Help),
            category: service.code.clone(),
            region: String::new(),
            urgency: None,
            title,
            body: description.to_owned(),
            location: address.to_owned(),
            coordinates,
            contact_name,
            contact_mobile: value(&map, "phone").to_owned(),
        };
        let posted = state
            .requests()
            .submit_open311(
                &client,
                &new,
                &state.config().region_code,
                value(&map, "media_url"),
                &format!("open311:{}", meta.ip),
            )
            .await?;
        let record: Record = vec![
            ("service_request_id", text(posted.public_id)),
            ("token", text(posted.token)),
            (
                "service_notice",
                text("已受理，12345热线将按时限办理并回访。"),
            ),
            ("account_id", Field::Null),
        ];
        Ok::<_, Failure>(list(
            format,
            StatusCode::CREATED,
            "service_requests",
            "request",
            &[record],
        ))
    };
    run.await.unwrap_or_else(|f| f.render(format))
}
