//! Sample documents with realistic data from the demo departments, shared by the tests and the
//! `samples` example.

use chrono::NaiveDate;
use yiwang_render::{Document, DocumentKind, Field, SealBlock};

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

/// A food business licence (食品经营许可证) of a Hefei restaurant company.
pub fn licence() -> Document {
    Document {
        kind: DocumentKind::Licence,
        title: "食品经营许可证".into(),
        number: Some(Field::new(
            "证照标识",
            "1.2.156.3005.2.11100000000000127.11340100MB8434305B.JY23401040012345.001.L",
        )),
        holder: vec![],
        fields: vec![
            Field::new("经营者名称", "合肥味道餐饮管理有限公司"),
            Field::new("统一社会信用代码", "91340104MA2TX00016"),
            Field::new("法定代表人", "张晓明"),
            Field::new("住所", "安徽省合肥市蜀山区长江西路与潜山路交口东南角华润五彩城3号楼1层103室"),
            Field::new("经营场所", "安徽省合肥市蜀山区长江西路与潜山路交口东南角华润五彩城3号楼1层103室"),
            Field::new("主体业态", "餐饮服务经营者（中型餐馆）"),
            Field::new(
                "经营项目",
                "预包装食品（含冷藏冷冻食品）销售；散装食品（含冷藏冷冻食品、不含熟食）销售；热食类食品制售；冷食类食品制售（不含生食类食品）；糕点类食品制售（含裱花蛋糕）；自制饮品制售（不含自酿酒）",
            ),
            Field::new("许可证编号", "JY23401040012345"),
            Field::new("日常监督管理机构", "合肥市蜀山区市场监督管理局"),
            Field::new("投诉举报电话", "12315"),
        ],
        paragraphs: vec![],
        issuer: "合肥市市场监督管理局".into(),
        issued: date(2026, 12, 7),
        expires: Some(date(2031, 12, 6)),
        seal: Some(SealBlock {
            department: "合肥市市场监督管理局".into(),
            key_id: "hf-scjgj-2026-01".into(),
            fingerprint: "9f2c4be07a1d53e8".into(),
        }),
        qr: Some(
            "YWL1:1.2.156.3005.2.11100000000000127.11340100MB8434305B.JY23401040012345.001.L:hf-scjgj-2026-01:MEUCIQDm3Yk2dX7o0pS1v4Z5a6b7c8d9e0f1g2h3i4j5k6l7mAIgT1u2v3w4x5y6z7A8B9C0D1E2F3G4H5I6J7K8L9M0N1O2P3"
                .into(),
        ),
        footnotes: vec![
            "本证照为电子证照，与纸质证照具有同等法律效力。可通过一网通办政务服务平台或扫描二维码核验真伪。".into(),
            "食品经营者应当在经营场所的显著位置悬挂或者摆放食品经营许可证正本，或者展示电子证照。".into(),
        ],
    }
}

/// A grant decision (准予行政许可决定书) of the Kangbashi market regulator.
pub fn notice() -> Document {
    Document {
        kind: DocumentKind::Notice,
        title: "准予行政许可决定书".into(),
        number: Some(Field::new("文号", "康市监许准字〔2026〕第0128号")),
        holder: vec!["鄂尔多斯市康巴什区草原印象文化传媒有限公司（统一社会信用代码：91150603MA0NKB0014）：".into()],
        fields: vec![
            Field::new("许可事项", "公共场所卫生许可（新办）"),
            Field::new("许可内容", "公共场所卫生许可（文化娱乐场所：歌舞厅、游艺厅）"),
            Field::new("办件编号", "150603202612070001Y"),
        ],
        paragraphs: vec![
            "你单位于2026年11月20日提出的“公共场所卫生许可（新办）”申请，本机关于2026年11月21日受理。经审查，申请符合法定条件、标准。根据《中华人民共和国行政许可法》第三十八条第一款的规定，本机关决定准予行政许可。".into(),
            "根据《中华人民共和国行政许可法》第四十四条的规定，本机关将自作出本决定之日起十日内向你单位颁发、送达行政许可证件。".into(),
            "如不服本决定，可以自收到本决定书之日起六十日内依法申请行政复议，或者自收到本决定书之日起六个月内依法向人民法院提起行政诉讼。".into(),
        ],
        issuer: "鄂尔多斯市康巴什区市场监督管理局".into(),
        issued: date(2026, 12, 7),
        expires: None,
        seal: Some(SealBlock {
            department: "鄂尔多斯市康巴什区市场监督管理局".into(),
            key_id: "kbs-scjgj-2026-01".into(),
            fingerprint: "31b7c0d9e4a25f68".into(),
        }),
        qr: Some("YWN1:150603202612070001Y:granted:kbs-scjgj-2026-01:8c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f".into()),
        footnotes: vec!["本文书由一网通办政务服务平台依据办件记录生成。办件编号：150603202612070001Y。".into()],
    }
}

/// A licence with 40 fields (too many for one page).
pub fn long_licence() -> Document {
    let mut doc = licence();
    doc.title = "医疗机构执业许可证".into();
    doc.fields = (1..=40)
        .map(|i| {
            Field::new(
                format!("诊疗科目{i}"),
                format!(
                    "第{i}项：{}",
                    ["内科", "外科", "妇产科", "儿科", "医学检验科", "医学影像科"][i % 6]
                ),
            )
        })
        .collect();
    doc
}
