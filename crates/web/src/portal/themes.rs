//! The portal's ways in before the service catalog exists: themes for people and enterprises and
//! 一件事 life events, each mapped to the departments that handle it. The catalog issue replaces the
//! department mapping with service items; the codes stay.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Person,
    Enterprise,
    LifeEvent,
}

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub code: &'static str,
    pub audience: Audience,
    /// Department codes responsible, in order of relevance.
    pub departments: &'static [&'static str],
}

impl Theme {
    pub fn name_key(&self) -> String {
        format!("theme.{}", self.code)
    }
}

pub const THEMES: &[Theme] = &[
    Theme {
        code: "birth",
        audience: Audience::Person,
        departments: &["hf-wjw", "kbs-wjw", "hf-gaj", "kbs-gafj"],
    },
    Theme {
        code: "hukou",
        audience: Audience::Person,
        departments: &["hf-gaj", "kbs-gafj"],
    },
    Theme {
        code: "marriage",
        audience: Audience::Person,
        departments: &["hf-mzj", "kbs-mzj"],
    },
    Theme {
        code: "social_security",
        audience: Audience::Person,
        departments: &["hf-rsj"],
    },
    Theme {
        code: "medical",
        audience: Audience::Person,
        departments: &["hf-wjw", "kbs-wjw", "kbs-rmyy", "eeds-zxyy"],
    },
    Theme {
        code: "housing",
        audience: Audience::Person,
        departments: &["hf-fgj", "hf-gjj"],
    },
    Theme {
        code: "employment",
        audience: Audience::Person,
        departments: &["hf-rsj"],
    },
    Theme {
        code: "assistance",
        audience: Audience::Person,
        departments: &["hf-mzj", "kbs-mzj"],
    },
    Theme {
        code: "legal",
        audience: Audience::Person,
        departments: &["hf-sfj"],
    },
    Theme {
        code: "establishment",
        audience: Audience::Enterprise,
        departments: &["hf-scjgj", "kbs-scjgj", "hf-swj"],
    },
    Theme {
        code: "investment",
        audience: Audience::Enterprise,
        departments: &["hf-fgw", "hf-zrzyghj", "hf-cxjsj"],
    },
    Theme {
        code: "tax",
        audience: Audience::Enterprise,
        departments: &["hf-swj", "hf-czj"],
    },
    Theme {
        code: "construction",
        audience: Audience::Enterprise,
        departments: &["hf-cxjsj", "hf-zrzyghj", "hf-cgj"],
    },
    Theme {
        code: "safety",
        audience: Audience::Enterprise,
        departments: &["hf-yjglj"],
    },
    Theme {
        code: "food",
        audience: Audience::Enterprise,
        departments: &["hf-scjgj", "kbs-scjgj"],
    },
    Theme {
        code: "newborn",
        audience: Audience::LifeEvent,
        departments: &["hf-wjw", "hf-gaj", "hf-rsj"],
    },
    Theme {
        code: "restaurant",
        audience: Audience::LifeEvent,
        departments: &["hf-scjgj", "hf-cgj", "hf-swj"],
    },
    Theme {
        code: "start_business",
        audience: Audience::LifeEvent,
        departments: &["hf-scjgj", "hf-swj", "hf-rsj", "hf-gjj"],
    },
    Theme {
        code: "retirement",
        audience: Audience::LifeEvent,
        departments: &["hf-rsj", "hf-gjj"],
    },
    Theme {
        code: "property",
        audience: Audience::LifeEvent,
        departments: &["hf-fgj", "hf-zrzyghj", "hf-swj"],
    },
];

pub fn by_audience(audience: Audience) -> Vec<&'static Theme> {
    THEMES.iter().filter(|t| t.audience == audience).collect()
}

pub fn find(code: &str) -> Option<&'static Theme> {
    THEMES.iter().find(|t| t.code == code)
}
