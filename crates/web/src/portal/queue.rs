//! Queue pages (取号叫号): the hall's kiosk (take a ticket by category, or check a booking in with its
//! code), the printable ticket, the window console (call, recall, start, skip, transfer, finish) and
//! the big-screen board, live over Server-Sent Events with a small external script; without the
//! script the board refreshes itself.
//!
//! The kiosk acts for anonymous visitors (the booking code is the proof of a check-in), so whoever is
//! logged in on the device does not matter; its forms carry the double-submit CSRF token.
#![expect(
    clippy::trivially_copy_pass_by_ref,
    clippy::unused_self,
    reason = "askama templates call their helpers through self and pass references"
)]

use std::convert::Infallible;
use std::time::Duration as StdDuration;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::Stream;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast;
use yiwang_appointments::Appointments;
use yiwang_appointments::model::{
    Audience, Board, BoardEventKind, Category, Group, GroupId, Lane, Resource, ResourceId, Ticket,
    TicketId, TicketRequest, TicketStatus, TicketView, TransferTarget,
};
use yiwang_appointments::queue::WindowQueue;
use yiwang_identity::policy::Principal;

use crate::auth::{Client, anonymous_csrf};
use crate::error::AppError;
use crate::extract::{CsrfForm, GuestForm, IdPath, PageStaff};
use crate::page::PageCtx;
use crate::portal::appointments::{hhmm, origin, parse_id, refusal, with_status};
use crate::portal::form::{CsrfCookie, see_other, with_cookie};
use crate::portal::render;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/halls/{code}/kiosk", get(kiosk))
        .route("/halls/{code}/kiosk/ticket", post(take_ticket))
        .route("/halls/{code}/kiosk/check-in", post(check_in))
        .route("/halls/{code}/tickets/{id}", get(ticket_page))
        .route("/halls/{code}/board", get(board))
        .route("/halls/{code}/board/events", get(board_events))
        .route("/staff/windows/{id}", get(console))
        .route("/staff/windows/{id}/{action}", post(console_action))
        .route("/static/board.js", get(board_script))
}

/// The board's script: live updates over Server-Sent Events.
pub const BOARD_JS: &str = include_str!("../../static/board.js");

/// How often a board stream reads the hall's board version (changes made on other nodes).
const BOARD_POLL: StdDuration = StdDuration::from_secs(3);
/// A board stream ends after this long; the browser reconnects (and a shutting-down server is not
/// held up for long).
const BOARD_STREAM_LIMIT: StdDuration = StdDuration::from_mins(5);
/// Seconds between page reloads of a board without the script.
pub const BOARD_REFRESH_SECONDS: u32 = 10;

// ----- kiosk -----

/// Categories of one theme within an audience.
struct ThemeRow {
    theme: String,
    categories: Vec<Category>,
}

struct AudienceRow {
    audience: Audience,
    themes: Vec<ThemeRow>,
}

fn by_audience(categories: &[Category]) -> Vec<AudienceRow> {
    let mut rows: Vec<AudienceRow> = Vec::new();
    for audience in Audience::ALL {
        let mut themes: Vec<ThemeRow> = Vec::new();
        for category in categories.iter().filter(|c| c.audience == *audience) {
            match themes.iter_mut().find(|t| t.theme == category.theme) {
                Some(row) => row.categories.push(category.clone()),
                None => themes.push(ThemeRow {
                    theme: category.theme.clone(),
                    categories: vec![category.clone()],
                }),
            }
        }
        if !themes.is_empty() {
            rows.push(AudienceRow {
                audience: *audience,
                themes,
            });
        }
    }
    rows
}

#[derive(Template)]
#[template(path = "appointments/kiosk.html")]
struct KioskPage {
    page: PageCtx,
    group: Group,
    audiences: Vec<AudienceRow>,
    csrf: String,
    code: String,
    error: Option<String>,
}

impl KioskPage {
    fn audience_name(&self, audience: &Audience) -> &'static str {
        self.page.t(&format!("queue.audience.{}", audience.code()))
    }
}

async fn kiosk_page(
    state: &AppState,
    page: PageCtx,
    code: &str,
    csrf: String,
    typed: String,
    error: Option<String>,
) -> Result<Response, AppError> {
    let group = state.appointments().group_by_code(code).await?;
    let audiences = by_audience(&state.appointments().categories(group.id).await?);
    render(&KioskPage {
        page,
        group,
        audiences,
        csrf,
        code: typed,
        error,
    })
}

async fn kiosk(
    State(state): State<AppState>,
    page: PageCtx,
    CsrfCookie(existing): CsrfCookie,
    Path(code): Path<String>,
) -> Result<Response, AppError> {
    let (csrf, set) = anonymous_csrf(existing, state.config().cookie_secure);
    Ok(with_cookie(
        kiosk_page(&state, page, &code, csrf, String::new(), None).await?,
        set,
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TicketForm {
    csrf: String,
    category: String,
}

async fn take_ticket(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    Path(code): Path<String>,
    GuestForm(form): GuestForm<TicketForm>,
) -> Result<Response, AppError> {
    let group = state.appointments().group_by_code(&code).await?;
    let request = TicketRequest {
        category: form.category.clone(),
        lane: Lane::Normal,
        person: None,
    };
    match state
        .appointments()
        .take_ticket(&Principal::Anonymous, group.id, &request, &origin(&meta))
        .await
    {
        Ok(view) => Ok(see_other(&format!(
            "/halls/{code}/tickets/{}",
            view.ticket.id
        ))),
        Err(error) => {
            let Some((status, message)) = refusal(page.tr, &error) else {
                return Err(error.into());
            };
            let response =
                kiosk_page(&state, page, &code, form.csrf, String::new(), Some(message)).await?;
            Ok(with_status(response, status))
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CheckInForm {
    csrf: String,
    code: String,
}

async fn check_in(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    Path(code): Path<String>,
    GuestForm(form): GuestForm<CheckInForm>,
) -> Result<Response, AppError> {
    let group = state.appointments().group_by_code(&code).await?;
    match state
        .appointments()
        .check_in(&Principal::Anonymous, group.id, &form.code, &origin(&meta))
        .await
    {
        Ok(view) => Ok(see_other(&format!(
            "/halls/{code}/tickets/{}",
            view.ticket.id
        ))),
        Err(error) => {
            // An unknown code is the visitor's typing, not a missing page.
            let message = match &error {
                yiwang_appointments::AppointmentError::BookingNotFound => Some((
                    StatusCode::NOT_FOUND,
                    page.t("queue.kiosk.code_unknown").to_owned(),
                )),
                other => refusal(page.tr, other),
            };
            let Some((status, message)) = message else {
                return Err(error.into());
            };
            let response =
                kiosk_page(&state, page, &code, form.csrf, form.code, Some(message)).await?;
            Ok(with_status(response, status))
        }
    }
}

#[derive(Template)]
#[template(path = "appointments/ticket.html")]
struct TicketPage {
    page: PageCtx,
    group: Group,
    view: TicketView,
}

impl TicketPage {
    fn lane_text(&self) -> &'static str {
        self.page
            .t(&format!("queue.lane.{}", self.view.ticket.lane.code()))
    }

    fn status_text(&self) -> &'static str {
        self.page
            .t(&format!("queue.status.{}", self.view.ticket.status.code()))
    }

    fn taken(&self) -> String {
        hhmm(&self.view.ticket.taken_at)
    }

    fn waiting(&self) -> bool {
        self.view.ticket.status == TicketStatus::Waiting
    }
}

async fn ticket_page(
    State(state): State<AppState>,
    page: PageCtx,
    IdPath((code, id)): IdPath<(String, TicketId)>,
) -> Result<Response, AppError> {
    let group = state.appointments().group_by_code(&code).await?;
    let view = state.appointments().ticket(id).await?;
    if view.ticket.group_id != group.id {
        return Err(AppError::NotFound);
    }
    render(&TicketPage { page, group, view })
}

// ----- board -----

#[derive(Template)]
#[template(path = "appointments/board.html")]
struct BoardPage {
    page: PageCtx,
    group: Group,
    board: Board,
    refresh: u32,
}

async fn board(
    State(state): State<AppState>,
    page: PageCtx,
    Path(code): Path<String>,
) -> Result<Response, AppError> {
    let group = state.appointments().group_by_code(&code).await?;
    let board = state.appointments().board(group.id).await?;
    render(&BoardPage {
        page,
        group,
        board,
        refresh: BOARD_REFRESH_SECONDS,
    })
}

/// The board as the script reads it; `announce` is the ticket just called, if any.
fn board_data(board: &Board, announce: Option<(&str, &str)>) -> serde_json::Value {
    json!({
        "version": board.version,
        "calling": board.calling.iter().map(|c| json!({
            "number": c.number,
            "window": c.window_name,
            "status": c.status.code(),
        })).collect::<Vec<_>>(),
        "queues": board.queues.iter().map(|q| json!({
            "category": q.category,
            "name": q.name,
            "waiting": q.waiting,
            "wait": q.estimated_wait_minutes,
        })).collect::<Vec<_>>(),
        "announce": announce.map(|(number, window)| json!({ "number": number, "window": window })),
    })
}

struct BoardStream {
    service: Appointments,
    group: GroupId,
    events: broadcast::Receiver<yiwang_appointments::model::BoardEvent>,
    tick: tokio::time::Interval,
    last_version: Option<u64>,
    first: bool,
    until: tokio::time::Instant,
    /// Resolves when the server shuts down: the stream ends so shutdown need not wait for it.
    stopping: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl BoardStream {
    /// The next board to send, or `None` when the stream ends.
    async fn next(&mut self) -> Option<Event> {
        if self.first {
            self.first = false;
            return self.current(None).await;
        }
        loop {
            // Events first: a call waiting in the channel is announced rather than seen as a bare
            // version change.
            tokio::select! {
                biased;
                () = &mut self.stopping => return None,
                () = tokio::time::sleep_until(self.until) => return None,
                received = self.events.recv() => match received {
                    Ok(event) => {
                        let announce = match event.kind {
                            BoardEventKind::Called { number, window_name, .. } => {
                                Some((number, window_name))
                            }
                            BoardEventKind::Changed => None,
                        };
                        return self.current(announce).await;
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => return self.current(None).await,
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                _ = self.tick.tick() => {
                    // Changes made on other nodes are seen by the version alone.
                    let version = self.service.board_version(self.group).await.ok()?;
                    if Some(version) != self.last_version {
                        return self.current(None).await;
                    }
                }
            }
        }
    }

    async fn current(&mut self, announce: Option<(String, String)>) -> Option<Event> {
        let board = self.service.board(self.group).await.ok()?;
        self.last_version = Some(board.version);
        let data = board_data(
            &board,
            announce.as_ref().map(|(n, w)| (n.as_str(), w.as_str())),
        );
        Some(
            Event::default()
                .event("board")
                .id(board.version.to_string())
                .retry(StdDuration::from_secs(3))
                .data(data.to_string()),
        )
    }
}

async fn board_events(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let service = state.appointments().clone();
    let group = service.group_by_code(&code).await?;
    let events = service.subscribe_board(group.id);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + BOARD_POLL, BOARD_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stream = BoardStream {
        service,
        group: group.id,
        events,
        tick,
        last_version: None,
        first: true,
        until: tokio::time::Instant::now() + BOARD_STREAM_LIMIT,
        stopping: Box::pin(state.stopping()),
    };
    let stream = futures::stream::unfold(stream, |mut stream| async move {
        let event = stream.next().await?;
        Some((Ok(event), stream))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

async fn board_script() -> Response {
    (
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (
                CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        BOARD_JS,
    )
        .into_response()
}

// ----- window console -----

struct LaneCount {
    lane: Lane,
    waiting: usize,
}

#[derive(Template)]
#[template(path = "appointments/window.html")]
struct ConsolePage {
    page: PageCtx,
    queue: WindowQueue,
    current: Option<TicketView>,
    lanes: Vec<LaneCount>,
    windows: Vec<Resource>,
    categories: Vec<Category>,
    csrf: String,
    notice: Option<String>,
    error: Option<String>,
}

impl ConsolePage {
    fn lane_text(&self, lane: &Lane) -> &'static str {
        self.page.t(&format!("queue.lane.{}", lane.code()))
    }

    fn status_text(&self, status: &TicketStatus) -> &'static str {
        self.page.t(&format!("queue.status.{}", status.code()))
    }

    fn called(&self) -> bool {
        self.current
            .as_ref()
            .is_some_and(|v| v.ticket.status == TicketStatus::Called)
    }

    fn serving(&self) -> bool {
        self.current
            .as_ref()
            .is_some_and(|v| v.ticket.status == TicketStatus::Serving)
    }

    fn current_id(&self) -> String {
        self.current
            .as_ref()
            .map(|v| v.ticket.id.to_string())
            .unwrap_or_default()
    }

    fn time(&self, ticket: &Ticket) -> String {
        hhmm(&ticket.taken_at)
    }
}

async fn console_page(
    state: &AppState,
    page: PageCtx,
    who: &PageStaff,
    window: ResourceId,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let service = state.appointments();
    let queue = service.window_queue(&who.principal, window).await?;
    let current = service.window_ticket(&who.principal, window).await?;
    let lanes = Lane::ALL
        .iter()
        .map(|lane| LaneCount {
            lane: *lane,
            waiting: queue.waiting.iter().filter(|t| t.lane == *lane).count(),
        })
        .collect();
    let windows = service
        .resources(queue.group.id)
        .await?
        .into_iter()
        .filter(|r| r.active && r.id != window)
        .collect();
    let categories = service.categories(queue.group.id).await?;
    render(&ConsolePage {
        page,
        queue,
        current,
        lanes,
        windows,
        categories,
        csrf: who.session().csrf_token.clone(),
        notice,
        error,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ConsoleQuery {
    done: String,
    number: String,
}

async fn console(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageStaff,
    IdPath(window): IdPath<ResourceId>,
    Query(query): Query<ConsoleQuery>,
) -> Result<Response, AppError> {
    let notice = match query.done.as_str() {
        "" => None,
        "empty" => Some(page.t("queue.console.nobody_waiting").to_owned()),
        action => {
            let key = format!("queue.console.done_{action}");
            page.tr
                .get(&key)
                .map(|_| page.tr.fmt(&key, &[("number", &query.number)]))
        }
    };
    console_page(&state, page, &who, window, notice, None).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ActionForm {
    ticket: String,
    /// `window:<id>` or `category:<code>`, for a transfer.
    target: String,
}

async fn console_action(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    who: PageStaff,
    IdPath((window, action)): IdPath<(ResourceId, String)>,
    CsrfForm(form): CsrfForm<ActionForm>,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let service = state.appointments();
    let origin = origin(&meta);
    let ticket = || parse_id::<TicketId>(&form.ticket);
    let result = match action.as_str() {
        "call" => service.call_next(principal, window, &origin).await,
        "recall" => service
            .recall(principal, window, ticket()?, &origin)
            .await
            .map(Some),
        "start" => service
            .start_serving(principal, ticket()?, &origin)
            .await
            .map(Some),
        "skip" => service.skip(principal, ticket()?, &origin).await.map(Some),
        "finish" => service
            .finish(principal, ticket()?, &origin)
            .await
            .map(Some),
        "transfer" => {
            let target = match form.target.split_once(':') {
                Some(("window", w)) => TransferTarget::Window(parse_id(w)?),
                Some(("category", c)) => TransferTarget::Category(c.to_owned()),
                _ => {
                    let message = page.t("queue.console.choose_target").to_owned();
                    let response =
                        console_page(&state, page, &who, window, None, Some(message)).await?;
                    return Ok(with_status(response, StatusCode::UNPROCESSABLE_ENTITY));
                }
            };
            service
                .transfer(principal, ticket()?, &target, &origin)
                .await
                .map(Some)
        }
        _ => return Err(AppError::NotFound),
    };
    match result {
        Ok(Some(view)) => Ok(see_other(&format!(
            "/staff/windows/{window}?done={action}&number={}",
            view.ticket.number
        ))),
        Ok(None) => Ok(see_other(&format!("/staff/windows/{window}?done=empty"))),
        Err(error) => {
            let Some((status, message)) = refusal(page.tr, &error) else {
                return Err(error.into());
            };
            let response = console_page(&state, page, &who, window, None, Some(message)).await?;
            Ok(with_status(response, status))
        }
    }
}
