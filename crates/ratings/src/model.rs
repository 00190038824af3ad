//! Domain types of ratings: typed ids, the service events that can be rated, levels (GB/T 39046
//! A.8), reason tags per level, channels, rectification states, appeals, urgings and the views the
//! service answers with.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use yiwang_identity::model::{DepartmentId, PersonId, StaffId};

yiwang_kernel::define_id!(
    /// A rating (好差评).
    pub RatingId
);
yiwang_kernel::define_id!(
    /// The rectification task (差评整改) of a 差评.
    pub RectificationId
);
yiwang_kernel::define_id!(
    /// An appeal (申诉) against a 差评.
    pub AppealId
);
yiwang_kernel::define_id!(
    /// One urging (督办).
    pub UrgingId
);

/// Defines a closed code list serialised as its code.
macro_rules! code_list {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal / $zh:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $code)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and serialised code.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The Chinese term shown in pages.
            pub fn zh(self) -> &'static str {
                match self { $($name::$variant => $zh),+ }
            }

            /// Parses a stored or submitted code.
            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

code_list!(
    /// The kinds of service event that can be rated. Every kind is resolved through the same
    /// interface (who was served, who answers for it); `request` (诉求) has no module yet and
    /// resolves to not found.
    EventKind {
        /// A concluded case (办件).
        Case = "case" / "办件",
        /// A hall queue ticket served at a window (取号).
        Ticket = "ticket" / "取号",
        /// A kept appointment (预约).
        Booking = "booking" / "预约",
        /// A closed citizen request (诉求), when that module lands.
        Request = "request" / "诉求",
    }
);

code_list!(
    /// Where a rating came from (GLOSSARY rating channels).
    Channel {
        Web = "web" / "网页",
        Mobile = "mobile" / "移动端",
        /// The hall's window tablet (评价器).
        Tablet = "tablet" / "窗口评价器",
        /// The one-use link of an SMS invitation (no log-in).
        Sms = "sms" / "短信",
        /// Entered by staff from a phone call, on the person's behalf.
        Phone = "phone" / "电话",
        Api = "api" / "接口",
    }
);

code_list!(
    /// 差评整改 states: 待核实 → 整改中 → 已整改 → 回访 → 办结.
    RectStatus {
        /// Verify the rating and contact the rater (within 1 working day).
        Verifying = "verifying" / "待核实",
        Rectifying = "rectifying" / "整改中",
        Rectified = "rectified" / "已整改",
        /// The follow-up with the rater is recorded.
        FollowUp = "follow_up" / "回访",
        Closed = "closed" / "办结",
    }
);

code_list!(
    /// 回访 result.
    FollowUpResult {
        Satisfied = "satisfied" / "满意",
        Unsatisfied = "unsatisfied" / "不满意",
    }
);

code_list!(
    /// Where an appeal (申诉) stands.
    AppealState {
        None = "none" / "未申诉",
        Pending = "pending" / "申诉中",
        /// The rating is left out of every figure.
        Upheld = "upheld" / "申诉成立",
        /// The rating stays.
        Rejected = "rejected" / "申诉驳回",
    }
);

code_list!(
    /// Why a department appeals a 差评.
    AppealGround {
        Malicious = "malicious" / "恶意差评",
        Unrelated = "unrelated" / "与服务无关",
    }
);

code_list!(
    /// What an urging (督办) is about.
    SubjectKind {
        Rectification = "rectification" / "差评整改",
        Case = "case" / "办件",
        Request = "request" / "诉求",
    }
);

/// A rated service event: its kind and its id in the owning domain (`cases.id`,
/// `appt_tickets.id`, `appt_bookings.id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EventRef {
    pub kind: EventKind,
    pub id: i64,
}

/// 满意度 levels, GB/T 39046 A.8: 1 非常满意 … 5 非常不满意. Levels 4 and 5 are 差评.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Level(u8);

impl Level {
    pub const VERY_SATISFIED: Level = Level(1);
    pub const SATISFIED: Level = Level(2);
    pub const BASIC: Level = Level(3);
    pub const DISSATISFIED: Level = Level(4);
    pub const VERY_DISSATISFIED: Level = Level(5);

    /// Parses the A.8 code (1..=5).
    pub fn new(code: u8) -> Option<Level> {
        (1..=5).contains(&code).then_some(Level(code))
    }

    pub fn code(self) -> u8 {
        self.0
    }

    /// 差评: 不满意 or 非常不满意.
    pub fn is_bad(self) -> bool {
        self.0 >= 4
    }

    /// Counts as satisfied in the satisfaction rate (非常满意, 满意).
    pub fn is_satisfied(self) -> bool {
        self.0 <= 2
    }

    pub fn zh(self) -> &'static str {
        match self.0 {
            1 => "非常满意",
            2 => "满意",
            3 => "基本满意",
            4 => "不满意",
            _ => "非常不满意",
        }
    }
}

impl TryFrom<u8> for Level {
    type Error = String;

    fn try_from(code: u8) -> Result<Self, Self::Error> {
        Level::new(code).ok_or_else(|| format!("level must be 1..5, got {code}"))
    }
}

impl From<Level> for u8 {
    fn from(level: Level) -> u8 {
        level.0
    }
}

/// A reason tag: its code, its Chinese label and the levels it may go with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    pub code: &'static str,
    pub zh: &'static str,
    /// Lowest and highest level (inclusive) the tag fits.
    pub levels: (u8, u8),
}

/// The fixed tag list. Praise fits levels 1–3, complaints levels 3–5 (基本满意 may carry either).
pub const TAGS: &[Tag] = &[
    Tag {
        code: "done_in_one",
        zh: "一次办好",
        levels: (1, 3),
    },
    Tag {
        code: "warm_patient",
        zh: "热情耐心",
        levels: (1, 3),
    },
    Tag {
        code: "efficient",
        zh: "高效便捷",
        levels: (1, 3),
    },
    Tag {
        code: "clear_guidance",
        zh: "指引清晰",
        levels: (1, 3),
    },
    Tag {
        code: "short_wait",
        zh: "等候时间短",
        levels: (1, 3),
    },
    Tag {
        code: "online_easy",
        zh: "网上办理方便",
        levels: (1, 3),
    },
    Tag {
        code: "overdue",
        zh: "超时办理",
        levels: (3, 5),
    },
    Tag {
        code: "extra_materials",
        zh: "要求额外材料",
        levels: (3, 5),
    },
    Tag {
        code: "multiple_trips",
        zh: "多次跑动",
        levels: (3, 5),
    },
    Tag {
        code: "poor_attitude",
        zh: "态度差",
        levels: (3, 5),
    },
    Tag {
        code: "buck_passing",
        zh: "推诿扯皮",
        levels: (3, 5),
    },
    Tag {
        code: "unclear_guidance",
        zh: "一次性告知不清",
        levels: (3, 5),
    },
    Tag {
        code: "long_wait",
        zh: "等候时间长",
        levels: (3, 5),
    },
    Tag {
        code: "system_trouble",
        zh: "系统不好用",
        levels: (3, 5),
    },
    Tag {
        code: "unfair_fees",
        zh: "违规收费",
        levels: (4, 5),
    },
];

impl Tag {
    /// A tag by its code or its Chinese label.
    pub fn find(text: &str) -> Option<&'static Tag> {
        let text = text.trim();
        TAGS.iter().find(|t| t.code == text || t.zh == text)
    }

    pub fn fits(&self, level: Level) -> bool {
        (self.levels.0..=self.levels.1).contains(&level.code())
    }

    /// The tags that fit a level, in list order.
    pub fn for_level(level: Level) -> Vec<&'static Tag> {
        TAGS.iter().filter(|t| t.fits(level)).collect()
    }
}

/// What a person submits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRating {
    pub event: EventRef,
    pub level: u8,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub text: String,
}

/// A rating as pages and the API show it: the rater masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RatingView {
    #[serde(skip)]
    pub id: RatingId,
    pub public_id: String,
    pub event: EventRef,
    /// What was rated, in words (item name, hall and window…).
    pub event_label: String,
    pub level: Level,
    /// Tag codes.
    pub tags: Vec<String>,
    pub text: String,
    pub channel: Channel,
    /// 张*三
    pub rater_name: String,
    /// 138****1234
    pub rater_mobile: String,
    #[serde(skip)]
    pub person: PersonId,
    #[serde(skip)]
    pub department_id: DepartmentId,
    pub department_name: String,
    pub region_code: String,
    pub item_name: String,
    pub rated_at: DateTime<Utc>,
    pub follow_up: Option<String>,
    pub follow_up_at: Option<DateTime<Utc>>,
    /// Left out of the figures (appeal upheld).
    pub excluded: bool,
    #[serde(skip)]
    pub entered_by: Option<StaffId>,
}

/// A 差评's rectification task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rectification {
    #[serde(skip)]
    pub id: RectificationId,
    pub rating: RatingView,
    pub status: RectStatus,
    /// Verify and contact the rater by the end of this day (1 working day).
    pub contact_due_on: NaiveDate,
    /// Rectify by the end of this day (N working days).
    pub rectify_due_on: NaiveDate,
    pub contact_due_at: DateTime<Utc>,
    pub rectify_due_at: DateTime<Utc>,
    pub contacted_at: Option<DateTime<Utc>>,
    pub contact_note: String,
    pub rectified_at: Option<DateTime<Utc>>,
    pub rectify_note: String,
    pub follow_up_result: Option<FollowUpResult>,
    pub follow_up_note: String,
    pub followed_up_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub appeal: AppealState,
    /// The overdue sweep raised its warning.
    pub overdue_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub revision: i64,
}

impl Rectification {
    /// Rectified by the end of the rectification deadline.
    pub fn rectified_on_time(&self) -> bool {
        self.rectified_at
            .is_some_and(|at| at <= self.rectify_due_at)
    }

    /// Past a deadline that is still open at `now`: contact not made by its day, or not rectified
    /// by its day.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        match self.status {
            RectStatus::Verifying => now > self.contact_due_at || now > self.rectify_due_at,
            RectStatus::Rectifying => now > self.rectify_due_at,
            _ => false,
        }
    }
}

/// A rectification with the rater's identity in full: only for staff handling it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandlerView {
    pub task: Rectification,
    pub rater_name: String,
    pub rater_mobile: String,
    pub history: Vec<RectEvent>,
    pub appeal: Option<Appeal>,
}

/// One line of a rectification's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RectEvent {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub from: RectStatus,
    pub to: RectStatus,
    pub note: String,
}

/// An appeal (申诉) against a 差评.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Appeal {
    #[serde(skip)]
    pub id: AppealId,
    #[serde(skip)]
    pub rectification_id: RectificationId,
    pub ground: AppealGround,
    pub reason: String,
    #[serde(skip)]
    pub filed_by: StaffId,
    pub filed_at: DateTime<Utc>,
    pub status: AppealState,
    #[serde(skip)]
    pub decided_by: Option<StaffId>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: String,
}

/// One urging (督办) and its reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Urging {
    #[serde(skip)]
    pub id: UrgingId,
    pub subject_kind: SubjectKind,
    pub subject_id: i64,
    #[serde(skip)]
    pub department_id: DepartmentId,
    pub note: String,
    pub reply_due_on: NaiveDate,
    #[serde(skip)]
    pub urged_by: StaffId,
    pub urged_at: DateTime<Utc>,
    pub reply: Option<String>,
    #[serde(skip)]
    pub replied_by: Option<StaffId>,
    pub replied_at: Option<DateTime<Utc>>,
}

/// The disclosed figures of one department or region for one month.
///
/// `satisfaction_rate` = (levels 1 + 2) / all ratings, both counted without excluded ratings
/// (appeal upheld); `None` when there are no ratings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthFigures {
    /// `YYYY-MM`, China time.
    pub month: String,
    /// Department code, or the region code.
    pub key: String,
    pub name: String,
    /// Ratings by level 1..5 (index 0 = level 1).
    pub by_level: [u64; 5],
    pub total: u64,
    pub satisfaction_rate: Option<f64>,
    /// 差评: levels 4 and 5.
    pub bad: u64,
    /// 差评 whose rectification was done by its deadline.
    pub rectified_on_time: u64,
}

/// A published 差评 with its rectification, the rater masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisclosedBad {
    pub rated_at: DateTime<Utc>,
    pub department_name: String,
    pub event_label: String,
    pub level: Level,
    pub tags: Vec<String>,
    pub text: String,
    pub rater_name: String,
    pub status: RectStatus,
    pub rectify_due_on: NaiveDate,
    pub rectified_at: Option<DateTime<Utc>>,
    pub rectify_note: String,
    pub on_time: bool,
}

/// A name masked for display: 张三 → 张*, 张小三 → 张*三, 欧阳娜娜 → 欧**娜.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 | 2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

/// `YYYY-MM` of a China date.
pub fn month_of(day: NaiveDate) -> String {
    day.format("%Y-%m").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_names() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("张小三"), "张*三");
        assert_eq!(mask_name("欧阳娜娜"), "欧**娜");
        assert_eq!(mask_name("李"), "李*");
        assert_eq!(mask_name(""), "");
    }

    #[test]
    fn levels_and_tags() {
        assert!(Level::new(0).is_none() && Level::new(6).is_none());
        assert!(Level::DISSATISFIED.is_bad() && !Level::BASIC.is_bad());
        let overdue = Tag::find("超时办理").unwrap();
        assert!(overdue.fits(Level::VERY_DISSATISFIED) && !overdue.fits(Level::SATISFIED));
        assert_eq!(Tag::find("done_in_one").unwrap().zh, "一次办好");
        assert!(!Tag::find("一次办好").unwrap().fits(Level::DISSATISFIED));
        assert!(Tag::for_level(Level::BASIC).len() > Tag::for_level(Level::VERY_SATISFIED).len());
        for kind in EventKind::ALL {
            assert_eq!(EventKind::from_code(kind.code()), Some(*kind));
        }
    }
}
