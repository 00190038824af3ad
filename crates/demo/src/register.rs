//! The demo's extract of the enterprise register, which claims to represent a demo enterprise are
//! checked against (see `yiwang_identity::service::register`).

use serde::Deserialize;
use yiwang_identity::service::register::{RegisterEntry, StaticRegister};
use yiwang_kernel::{ResidentId, Uscc};

const REGISTER: &str = include_str!("../data/enterprise-register.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    uscc_17: String,
    name: String,
    representative_name: String,
    representative_id_17: String,
}

/// The demo register data, check characters completed.
pub fn register_entries() -> anyhow::Result<Vec<RegisterEntry>> {
    let file: File = toml::from_str(REGISTER)?;
    file.entry
        .into_iter()
        .map(|e| {
            Ok(RegisterEntry {
                uscc: Uscc::complete(&e.uscc_17)?.as_str().to_owned(),
                name: e.name,
                representative_name: e.representative_name,
                representative_id: ResidentId::complete(&e.representative_id_17)?
                    .as_str()
                    .to_owned(),
            })
        })
        .collect()
}

/// The demo enterprise register.
pub fn enterprise_register() -> anyhow::Result<StaticRegister> {
    Ok(StaticRegister::new(register_entries()?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_register_lists_the_demo_enterprise_with_its_representative() {
        let entries = register_entries().unwrap();
        let (uscc17, name) = crate::org::DEMO_ENTERPRISE;
        let demo = entries.iter().find(|e| e.uscc.starts_with(uscc17)).unwrap();
        assert_eq!(demo.name, name);
        assert_eq!(demo.representative_name, crate::org::DEMO_LOGINS[0].name);
        assert!(
            demo.representative_id
                .starts_with(crate::org::DEMO_LOGINS[0].resident_id_17)
        );
        assert!(entries.iter().all(|e| !e.uscc.starts_with('1')));
        enterprise_register().unwrap();
    }
}
