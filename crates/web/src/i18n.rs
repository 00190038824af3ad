//! UI text in three languages. Messages live in `locales/*.toml` and one directory per area of the UI
//! (`locales/<area>/*.toml`), nested tables flattened to dotted keys, embedded in the binary. zh-CN is the
//! default and the fallback for a missing key.

use std::collections::HashMap;
use std::sync::OnceLock;

/// A language the UI is offered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locale {
    ZhCn,
    ZhTw,
    En,
}

impl Locale {
    pub const ALL: [Locale; 3] = [Locale::ZhCn, Locale::ZhTw, Locale::En];

    /// The BCP 47 tag, used in `lang` attributes, cookies and URLs.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::ZhCn => "zh-CN",
            Locale::ZhTw => "zh-TW",
            Locale::En => "en",
        }
    }

    /// The language's own name, shown in the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Locale::ZhCn => "简体中文",
            Locale::ZhTw => "繁體中文",
            Locale::En => "English",
        }
    }

    /// Exact tag as stored in the cookie or given in a URL (case-insensitive).
    pub fn from_tag(tag: &str) -> Option<Self> {
        Locale::ALL
            .into_iter()
            .find(|l| l.tag().eq_ignore_ascii_case(tag.trim()))
    }

    /// Map any language range from `Accept-Language` to a supported locale.
    fn from_range(range: &str) -> Option<Self> {
        let range = range.trim().to_ascii_lowercase();
        let mut parts = range.split(['-', '_']);
        match parts.next()? {
            "en" => Some(Locale::En),
            "zh" => {
                let rest: Vec<&str> = parts.collect();
                if rest
                    .iter()
                    .any(|p| matches!(*p, "tw" | "hk" | "mo" | "hant"))
                {
                    Some(Locale::ZhTw)
                } else {
                    Some(Locale::ZhCn)
                }
            }
            _ => None,
        }
    }

    /// Choose from an `Accept-Language` header by quality value; `None` when nothing matches.
    pub fn negotiate(header: &str) -> Option<Self> {
        // Quality in thousandths (q has at most three decimals), so comparison is exact.
        let mut best: Option<(u16, usize, Locale)> = None;
        for (position, item) in header.split(',').enumerate() {
            let mut pieces = item.split(';');
            let range = pieces.next().unwrap_or_default();
            let quality = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .map_or(1000, |q| (q.clamp(0.0, 1.0) * 1000.0).round() as u16);
            if quality == 0 {
                continue;
            }
            let Some(locale) = Locale::from_range(range) else {
                continue;
            };
            let better = match best {
                None => true,
                Some((q, pos, _)) => quality > q || (quality == q && position < pos),
            };
            if better {
                best = Some((quality, position, locale));
            }
        }
        best.map(|(_, _, locale)| locale)
    }
}

struct Catalogs {
    messages: HashMap<Locale, HashMap<String, String>>,
}

/// The locale files of one area of the UI, one per language (zh-CN, zh-TW, en). Each area owns its
/// top-level tables; a key defined in two areas is a defect the tests catch.
macro_rules! area {
    ($dir:literal) => {
        [
            include_str!(concat!("../locales/", $dir, "zh-CN.toml")),
            include_str!(concat!("../locales/", $dir, "zh-TW.toml")),
            include_str!(concat!("../locales/", $dir, "en.toml")),
        ]
    };
}

/// Every area's files: the core pages, cases and the workbench, appointments and the queue.
const AREAS: &[[&str; 3]] = &[
    area!(""),
    area!("cases/"),
    area!("workbench/"),
    area!("appointments/"),
    area!("licences/"),
    area!("ratings/"),
    area!("surveys/"),
];

/// The files of one locale, one per area.
fn sources(locale: Locale) -> impl Iterator<Item = &'static str> {
    let index = match locale {
        Locale::ZhCn => 0,
        Locale::ZhTw => 1,
        Locale::En => 2,
    };
    AREAS.iter().map(move |files| files[index])
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut HashMap<String, String>) {
    for (key, value) in table {
        let full = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) => flatten(&full, inner, out),
            toml::Value::String(text) => {
                out.insert(full, text.clone());
            }
            toml::Value::Integer(n) => {
                out.insert(full, n.to_string());
            }
            _ => tracing::warn!(key = %full, "locale value is not text; ignored"),
        }
    }
}

/// Parse one locale file into dotted keys.
pub fn parse_catalog(text: &str) -> Result<HashMap<String, String>, toml::de::Error> {
    let table: toml::Table = toml::from_str(text)?;
    let mut out = HashMap::new();
    flatten("", &table, &mut out);
    Ok(out)
}

fn catalogs() -> &'static Catalogs {
    static CATALOGS: OnceLock<Catalogs> = OnceLock::new();
    CATALOGS.get_or_init(|| {
        let messages = Locale::ALL
            .into_iter()
            .map(|locale| {
                // The files are embedded and checked by tests, so a parse error is a build defect; log it
                // and fall back to keys rather than refusing to serve.
                let mut merged = HashMap::new();
                for text in sources(locale) {
                    match parse_catalog(text) {
                        Ok(parsed) => merged.extend(parsed),
                        Err(e) => {
                            tracing::error!(locale = locale.tag(), error = %e, "locale file does not parse");
                        }
                    }
                }
                (locale, merged)
            })
            .collect();
        Catalogs { messages }
    })
}

/// Looks messages up for one locale.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub locale: Locale,
}

impl Tr {
    pub fn new(locale: Locale) -> Self {
        Self { locale }
    }

    /// The message for `key`, falling back to zh-CN. A key missing everywhere is a defect (tests check
    /// every locale has every key); it renders as nothing and is logged.
    pub fn t(&self, key: &str) -> &'static str {
        let all = &catalogs().messages;
        if let Some(text) = all.get(&self.locale).and_then(|m| m.get(key)) {
            return text.as_str();
        }
        if let Some(text) = all.get(&Locale::ZhCn).and_then(|m| m.get(key)) {
            tracing::warn!(key, locale = self.locale.tag(), "message missing in locale");
            return text.as_str();
        }
        tracing::error!(key, "message missing");
        ""
    }

    /// The message for `key` in this locale or zh-CN, if there is one.
    pub fn get(&self, key: &str) -> Option<&'static str> {
        let all = &catalogs().messages;
        all.get(&self.locale)
            .and_then(|m| m.get(key))
            .or_else(|| all.get(&Locale::ZhCn).and_then(|m| m.get(key)))
            .map(String::as_str)
    }

    /// The message with `{name}` placeholders filled in.
    /// One pass over the message, so a value that itself contains `{name}` is not expanded again.
    pub fn fmt(&self, key: &str, args: &[(&str, &str)]) -> String {
        let template = self.t(key);
        let mut out = String::with_capacity(template.len() + 16);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}').map(|close| (&after[..close], close)) {
                Some((name, close)) if args.iter().any(|(n, _)| *n == name) => {
                    let value = args.iter().find(|(n, _)| *n == name).map_or("", |(_, v)| v);
                    out.push_str(value);
                    rest = &after[close + 1..];
                }
                _ => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// The message `errors.<code>` with its `{time}` filled in with `until` in China time (lock-outs and
/// throttling say when to try again).
pub fn until_message(tr: Tr, code: &str, until: chrono::DateTime<chrono::Utc>) -> String {
    let local = until.with_timezone(&yiwang_kernel::clock::china_offset());
    tr.fmt(
        &format!("errors.{code}"),
        &[("time", &local.format("%H:%M").to_string())],
    )
}

/// Every key of a locale, for completeness tests.
pub fn keys(locale: Locale) -> Vec<String> {
    let mut keys: Vec<String> = catalogs()
        .messages
        .get(&locale)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_accept_language() {
        assert_eq!(Locale::negotiate("en-US,en;q=0.9"), Some(Locale::En));
        assert_eq!(
            Locale::negotiate("zh-TW,zh;q=0.9,en;q=0.8"),
            Some(Locale::ZhTw)
        );
        assert_eq!(Locale::negotiate("zh-Hant-HK"), Some(Locale::ZhTw));
        assert_eq!(Locale::negotiate("zh-Hans-CN,zh;q=0.9"), Some(Locale::ZhCn));
        assert_eq!(
            Locale::negotiate("fr-FR,en;q=0.5,zh;q=0.8"),
            Some(Locale::ZhCn)
        );
        assert_eq!(Locale::negotiate("en;q=0,zh-TW;q=0.1"), Some(Locale::ZhTw));
        assert_eq!(Locale::negotiate("fr, de"), None);
        assert_eq!(Locale::negotiate(""), None);
    }

    #[test]
    fn every_locale_has_every_key() {
        for locale in Locale::ALL {
            let mut seen: HashMap<String, usize> = HashMap::new();
            for (area, text) in sources(locale).enumerate() {
                let parsed = parse_catalog(text);
                assert!(
                    parsed.is_ok(),
                    "{} area {area} does not parse: {:?}",
                    locale.tag(),
                    parsed.err()
                );
                for key in parsed.unwrap_or_default().into_keys() {
                    if let Some(other) = seen.insert(key.clone(), area) {
                        panic!("{}: key {key} is in areas {other} and {area}", locale.tag());
                    }
                }
            }
        }
        let reference = keys(Locale::ZhCn);
        assert!(reference.len() > 20);
        for locale in [Locale::ZhTw, Locale::En] {
            assert_eq!(
                keys(locale),
                reference,
                "{} keys differ from zh-CN",
                locale.tag()
            );
        }
    }

    #[test]
    fn formats_placeholders() {
        let tr = Tr::new(Locale::En);
        assert_eq!(
            tr.fmt("error.request_id", &[("id", "abc")]),
            "Reference: abc"
        );
        assert_eq!(
            tr.fmt("search.summary", &[("q", "{n}"), ("n", "3")]),
            "3 results for “{n}”"
        );
        assert_eq!(tr.t("no.such.key"), "");
    }
}
