//! The session's watchdog, every `check_interval`: the reconnect window of a detached session,
//! `max_waiting_time`, `max_request_execution_time` (cancelling what runs too long), and
//! retrying requests held back by the server-wide output budget.

use super::*;

impl Session {
    /// The watchdog, every `check_interval`.
    pub(super) fn check(&mut self, ctx: &mut Context<Self>) {
        let _entered = self.span.clone().entered();
        if self.closing {
            return;
        }
        // Requests held back by the server-wide output budget try again.
        self.pump_all(ctx);
        // Shutting down: answers the session gave itself may have brought it to a boundary.
        self.close_if_drained(ctx);
        if self.closing {
            return;
        }
        let activity = &self.shared.config.activity;
        let (window, idle_limit, exec_limit) = (
            activity.max_session_reconnect_time,
            activity.max_waiting_time,
            activity.max_request_execution_time,
        );
        let receive_timeout = self.shared.config.session.transport.receive_timeout;
        if let Some(since) = self.detached_since {
            if since.elapsed() > window {
                tracing::info!("the client did not resume in time; closing the session");
                self.shared.metrics.timeout("reconnect_window");
                let reason = DbError::with_state(
                    ErrorClass::TimeoutError,
                    "HYT00",
                    format!("the session was closed: its client did not reconnect within max_session_reconnect_time ({window:?})"),
                );
                return self.end(reason, ctx);
            }
        }
        if let Some(link) = &self.link {
            let stuck = link
                .partial
                .lock()
                .map(|p| p.is_some_and(|t| t.elapsed() > receive_timeout))
                .unwrap_or(false);
            if stuck {
                return self.detach(
                    &format!("receive_timeout: a frame stayed incomplete for {receive_timeout:?}"),
                    ctx,
                );
            }
        }
        if self.link.is_some()
            && self.running.is_empty()
            && self.last_request.elapsed() > idle_limit
        {
            tracing::info!("idle for max_waiting_time; dropping the session");
            self.shared.metrics.timeout("idle_session");
            let err = DbError::with_state(
                ErrorClass::TimeoutError,
                "HYT00",
                format!("the session was dropped after {idle_limit:?} without a request (max_waiting_time)"),
            );
            return self.fail(err, ctx);
        }
        // Each request is timed from its start on its connection, and only its own statement
        // is cancelled; its answer (the driver's error, or its result if it finished first)
        // is what the client gets.
        let overdue: Vec<RequestId> = self
            .running
            .iter()
            .filter(|(id, r)| {
                r.cancelled.is_none()
                    && self.conns.get(&r.conn).is_some_and(|h| {
                        h.cancel
                            .started(**id)
                            .is_some_and(|t| t.elapsed() > exec_limit)
                    })
            })
            .map(|(id, _)| *id)
            .collect();
        for id in overdue {
            tracing::warn!(
                request = id,
                "request exceeded max_request_execution_time; cancelling it"
            );
            self.cancel_running(id, CancelReason::Watchdog, ctx);
        }
    }
}
