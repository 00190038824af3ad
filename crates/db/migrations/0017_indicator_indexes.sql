-- The performance indicators (绩效) read every record of a period: cases submitted and concluded in
-- it, ratings given in it, bookings and tickets of its days. Without these the queries scan whole
-- tables (EXPLAIN showed a scan of every case per department); with them they read the period's
-- range only (measured by `yiwang-bench indicators`, docs/benchmarks.md).
CREATE INDEX cases_submitted ON cases (submitted_at, department_id);
CREATE INDEX cases_concluded ON cases (status, concluded_at);
CREATE INDEX ratings_rated ON ratings (rated_at);
CREATE INDEX appt_bookings_day ON appt_bookings (day, status);
CREATE INDEX appt_tickets_day ON appt_tickets (day, status);
