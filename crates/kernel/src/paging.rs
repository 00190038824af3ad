//! Paging of list results: the request parsed from `?page=&page_size=` and the page returned.
//!
//! Pages are 1-based as users count them; the size is capped so that no request can ask the
//! database for an unbounded result.

use serde::Serialize;
use serde::ser::SerializeStruct;

use crate::error::ErrorCode;

/// Page size when the request does not give one.
pub const DEFAULT_PAGE_SIZE: u32 = 20;
/// Largest page size a request may ask for.
pub const MAX_PAGE_SIZE: u32 = 100;
/// Largest page number a request may ask for. Deeper pages are refused rather than served: a search
/// engine's collector keeps `offset + limit` hits in memory, so an unbounded page would let one request
/// reserve gigabytes. Narrowing the query (filters, text) is the way to reach later results.
pub const MAX_PAGE: u32 = 1_000;

/// Why a page request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PagingError {
    /// Pages count from 1 up to a maximum.
    #[error("page must be between 1 and {max}, got {got}")]
    PageOutOfRange {
        /// The page asked for.
        got: u32,
        /// The largest page allowed.
        max: u32,
    },
    /// Page size outside 1..=max.
    #[error("page size must be between 1 and {max}, got {got}")]
    PageSizeOutOfRange {
        /// The page size asked for.
        got: u32,
        /// The largest page size allowed.
        max: u32,
    },
}

impl ErrorCode for PagingError {
    fn code(&self) -> &'static str {
        match self {
            Self::PageOutOfRange { .. } => "paging_page_out_of_range",
            Self::PageSizeOutOfRange { .. } => "paging_page_size_out_of_range",
        }
    }
}

/// A request for one page of results.
///
/// Build it with [`PageRequest::new`], which validates; the fields are public for reading and
/// for tests, and [`offset`](Self::offset) stays safe even if a page of 0 is written directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// The 1-based page number.
    pub page: u32,
    /// Items per page.
    pub page_size: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

impl PageRequest {
    /// Builds a request from optional query parameters: page defaults to 1, page size to
    /// [`DEFAULT_PAGE_SIZE`]; page must be within 1..=[`MAX_PAGE`] and page size within
    /// 1..=[`MAX_PAGE_SIZE`], so no request can make a reader skip or hold more than
    /// `MAX_PAGE × MAX_PAGE_SIZE` rows.
    pub fn new(page: Option<u32>, page_size: Option<u32>) -> Result<Self, PagingError> {
        let page = page.unwrap_or(1);
        let page_size = page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if page == 0 || page > MAX_PAGE {
            return Err(PagingError::PageOutOfRange {
                got: page,
                max: MAX_PAGE,
            });
        }
        if page_size == 0 || page_size > MAX_PAGE_SIZE {
            return Err(PagingError::PageSizeOutOfRange {
                got: page_size,
                max: MAX_PAGE_SIZE,
            });
        }
        Ok(Self { page, page_size })
    }

    /// The 1-based page number.
    pub fn page(&self) -> u32 {
        self.page
    }

    /// Items per page.
    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    /// Rows to skip (SQL `OFFSET`).
    pub fn offset(&self) -> u64 {
        u64::from(self.page.saturating_sub(1)) * u64::from(self.page_size)
    }

    /// Rows to return (SQL `LIMIT`).
    pub fn limit(&self) -> u64 {
        u64::from(self.page_size)
    }
}

/// One page of results with the total count across all pages.
///
/// Serializes as `{items, total, page, page_size, total_pages}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// The number of items on all pages.
    pub total: u64,
    /// The 1-based page number.
    pub page: u32,
    /// Items per page.
    pub page_size: u32,
}

impl<T> Page<T> {
    /// A page of `items` answering `request`, out of `total` items overall.
    pub fn new(items: Vec<T>, total: u64, request: PageRequest) -> Self {
        Self {
            items,
            total,
            page: request.page,
            page_size: request.page_size,
        }
    }

    /// Number of pages (0 when there are no items).
    pub fn total_pages(&self) -> u64 {
        if self.page_size == 0 {
            return 0;
        }
        self.total.div_ceil(u64::from(self.page_size))
    }

    /// Whether a later page has items.
    pub fn has_next(&self) -> bool {
        u64::from(self.page) < self.total_pages()
    }

    /// Whether an earlier page exists.
    pub fn has_previous(&self) -> bool {
        self.page > 1
    }

    /// The same page with each item converted (e.g. database rows to view models).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            page: self.page,
            page_size: self.page_size,
        }
    }
}

impl<T: Serialize> Serialize for Page<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Page", 5)?;
        s.serialize_field("items", &self.items)?;
        s.serialize_field("total", &self.total)?;
        s.serialize_field("page", &self.page)?;
        s.serialize_field("page_size", &self.page_size)?;
        s.serialize_field("total_pages", &self.total_pages())?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_offsets() {
        let r = PageRequest::new(None, None).unwrap();
        assert_eq!((r.page(), r.page_size()), (1, 20));
        assert_eq!((r.offset(), r.limit()), (0, 20));
        assert_eq!(r, PageRequest::default());
        let r = PageRequest::new(Some(3), Some(100)).unwrap();
        assert_eq!((r.offset(), r.limit()), (200, 100));
        let r = PageRequest::new(Some(MAX_PAGE), Some(MAX_PAGE_SIZE)).unwrap();
        assert_eq!(
            r.offset(),
            u64::from(MAX_PAGE - 1) * u64::from(MAX_PAGE_SIZE)
        );
    }

    #[test]
    fn bad_requests_say_why() {
        let e = PageRequest::new(Some(0), None).unwrap_err();
        assert_eq!(e, PagingError::PageOutOfRange { got: 0, max: 1000 });
        assert_eq!(e.code(), "paging_page_out_of_range");
        assert_eq!(e.to_string(), "page must be between 1 and 1000, got 0");
        // The page number that once made the search collector reserve gigabytes.
        let e = PageRequest::new(Some(u32::MAX), None).unwrap_err();
        assert_eq!(e.code(), "paging_page_out_of_range");
        assert!(PageRequest::new(Some(MAX_PAGE + 1), None).is_err());
        let e = PageRequest::new(None, Some(101)).unwrap_err();
        assert_eq!(e.code(), "paging_page_size_out_of_range");
        assert_eq!(
            e.to_string(),
            "page size must be between 1 and 100, got 101"
        );
        assert!(PageRequest::new(None, Some(0)).is_err());
    }

    #[test]
    fn page_counts_and_serializes() {
        let req = PageRequest::new(Some(2), Some(10)).unwrap();
        let page = Page::new(vec![1, 2, 3], 23, req);
        assert_eq!(page.total_pages(), 3);
        assert!(page.has_next());
        assert!(page.has_previous());
        let page = page.map(|n| n * 10);
        assert_eq!(page.items, vec![10, 20, 30]);
        assert_eq!(
            serde_json::to_value(&page).unwrap(),
            serde_json::json!({
                "items": [10, 20, 30], "total": 23, "page": 2, "page_size": 10, "total_pages": 3
            })
        );
        let empty: Page<u8> = Page::new(vec![], 0, PageRequest::default());
        assert_eq!(empty.total_pages(), 0);
        assert!(!empty.has_next());
        assert!(!empty.has_previous());
        let exact: Page<u8> = Page::new(vec![], 20, PageRequest::default());
        assert_eq!(exact.total_pages(), 1);
    }
}
