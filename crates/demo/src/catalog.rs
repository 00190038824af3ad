//! The demo service catalog: 121 items of the two demo regions, their blank forms and the 一件事 life
//! events.

use yiwang_catalog::model::{ItemRecord, LifeEventRecord};
use yiwang_catalog::transfer::Format;
use yiwang_catalog::{Catalog, CatalogError, Origin};
use yiwang_db::Db;
use yiwang_identity::policy::Principal;
use yiwang_kernel::SharedClock;

/// The demo items, in the catalog's import format.
pub const CATALOG_ITEMS: &str = include_str!("../data/catalog/items.json");
const LIFE_EVENTS: &str = include_str!("../data/catalog/life_events.json");
const TEMPLATES: &str = include_str!("../data/catalog/templates.json");

/// Blank forms of demo materials, by file name.
const TEMPLATE_FILES: &[(&str, &str)] = &[
    (
        "申请结婚登记声明书.txt",
        include_str!("../data/catalog/templates/申请结婚登记声明书.txt"),
    ),
    (
        "最低生活保障申请书.txt",
        include_str!("../data/catalog/templates/最低生活保障申请书.txt"),
    ),
    (
        "公司登记（备案）申请书.txt",
        include_str!("../data/catalog/templates/公司登记（备案）申请书.txt"),
    ),
    (
        "个体工商户登记（备案）申请书.txt",
        include_str!("../data/catalog/templates/个体工商户登记（备案）申请书.txt"),
    ),
    (
        "食品经营许可申请书.txt",
        include_str!("../data/catalog/templates/食品经营许可申请书.txt"),
    ),
    (
        "住房公积金提取申请表.txt",
        include_str!("../data/catalog/templates/住房公积金提取申请表.txt"),
    ),
];

#[derive(Debug, serde::Deserialize)]
struct TemplateLink {
    impl_code: String,
    material: String,
    template: String,
}

/// What loading the demo catalog did.
#[derive(Debug, Clone, Copy, Default)]
pub struct CatalogReport {
    pub items: yiwang_catalog::service::ImportReport,
    pub life_events: usize,
}

/// Load the demo service catalog: template files, 121 items (imported as the platform would import a
/// provincial catalog; items already present are kept as staff left them) and the 一件事 life events.
/// Loading twice changes nothing.
pub async fn load_catalog(db: &Db, clock: &SharedClock) -> anyhow::Result<CatalogReport> {
    let catalog = Catalog::new(db.clone(), clock.clone())?;
    let origin = Origin {
        ip: "demo".to_owned(),
    };
    let mut records: Vec<ItemRecord> = serde_json::from_str(CATALOG_ITEMS)?;
    let links: Vec<TemplateLink> = serde_json::from_str(TEMPLATES)?;
    for link in links {
        let (name, text) = TEMPLATE_FILES
            .iter()
            .find(|(name, _)| *name == link.template)
            .ok_or_else(|| anyhow::anyhow!("demo template {} is missing", link.template))?;
        let file = catalog
            .upload_file(&Principal::System, name, text.as_bytes(), &origin)
            .await?;
        let material = records
            .iter_mut()
            .filter(|r| r.impl_code == link.impl_code)
            .flat_map(|r| r.content.materials.iter_mut())
            .find(|m| m.name == link.material)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "demo template {}: no material {}",
                    link.template,
                    link.material
                )
            })?;
        material.template = Some(file);
    }
    // Items already there are left alone: staff may have published newer versions of them.
    let mut missing = Vec::new();
    let mut existing = 0;
    for record in records {
        match catalog.item_by_impl_code(&record.impl_code).await {
            Ok(_) => existing += 1,
            Err(CatalogError::ItemNotFound) => missing.push(record),
            Err(other) => return Err(other.into()),
        }
    }
    let mut items = yiwang_catalog::service::ImportReport {
        unchanged: existing,
        ..Default::default()
    };
    if !missing.is_empty() {
        let bytes = serde_json::to_vec(&missing)?;
        let report = catalog
            .import(&Principal::System, Format::Json, &bytes, &origin)
            .await
            .map_err(|e| match e {
                CatalogError::ImportRejected(rows) => {
                    anyhow::anyhow!("demo catalog rejected: {rows:?}")
                }
                other => other.into(),
            })?;
        items.created = report.created;
    }
    let events: Vec<LifeEventRecord> = serde_json::from_str(LIFE_EVENTS)?;
    let life_events = catalog
        .import_life_events(&Principal::System, &events, &origin)
        .await?;
    Ok(CatalogReport { items, life_events })
}
