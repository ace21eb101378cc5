//! The interpreter's side of a Distributed Map (`distributed`): entering one reads its items (each
//! through ItemSelector with `$$.Map.Item`), batches them, writes MapStateStarted and MapRunStarted
//! and asks the engine for the Map Run ([`Effect::StartMapRun`]); the run's end (`MapRunEnded`)
//! writes MapRunSucceeded + MapStateSucceeded (the children's outputs, in item order, are the
//! state's result) or MapRunFailed + MapStateFailed (then Retry / Catch).

use serde_json::{json, Value};

use super::{Effect, Engine, Event, Flow, MapRunRef, Thread, Waiting};
use crate::context::MapItem;
use crate::dataflow;
use crate::definition::{MapState, State};
use crate::distributed;
use crate::error::StatesError;

impl Engine<'_> {
    pub(super) fn map_run_start(
        &mut self,
        state: &State,
        th: &mut Thread,
        map: &MapState,
    ) -> Result<Flow, StatesError> {
        let Some(d) = map.distributed.as_deref() else {
            return Err(StatesError::Runtime("not a Distributed Map".into()));
        };
        let ctx = self.context(th, None);
        let raw = th.raw_input.clone();
        let eff = dataflow::effective_input(state, &raw, &ctx, self.entropy)?;
        let items = dataflow::map_items(map, &eff, &ctx)?;
        let max_concurrency = dataflow::max_concurrency(map, &eff, &ctx)?;
        let tolerance = distributed::tolerance(d, &eff, &ctx)?;
        let length = items.len();
        let mut selected = Vec::with_capacity(length);
        for (i, item) in items.into_iter().enumerate() {
            let item_ctx = self.context(
                th,
                Some(MapItem {
                    index: i as u64,
                    value: item.clone(),
                }),
            );
            selected.push(dataflow::map_item_input(
                map,
                &item,
                &eff,
                &item_ctx,
                self.entropy,
            )?);
        }
        let inputs = distributed::child_inputs(d, selected, &eff, &ctx, self.entropy)?;
        self.push(
            "MapStateStarted",
            "mapStateStartedEventDetails",
            json!({ "length": length }),
        );
        // `mapRun:<state machine>/<label>:<id>`; without a Label, an id drawn for it.
        let label = match &d.label {
            Some(l) => l.clone(),
            None => self.entropy.uuid(),
        };
        let run_uuid = self.entropy.uuid();
        let parts: Vec<&str> = self.info.execution_arn.splitn(7, ':').collect();
        let (partition, region, account) = (
            parts.get(1).copied().unwrap_or("aws"),
            parts.get(3).copied().unwrap_or_default(),
            parts.get(4).copied().unwrap_or_default(),
        );
        let state_machine_name = format!("{}/{label}", self.info.state_machine_name);
        let map_run_arn = format!(
            "arn:{partition}:states:{region}:{account}:mapRun:{state_machine_name}:{run_uuid}"
        );
        let run_id = self.push(
            "MapRunStarted",
            "mapRunStartedEventDetails",
            json!({ "mapRunArn": map_run_arn }),
        );
        th.waiting = Waiting::MapRun { run_id };
        th.map_run = Some(MapRunRef {
            run_id,
            arn: map_run_arn.clone(),
            redrives: 0,
        });
        let seed = self.entropy.next_u64();
        self.out.effects.push(Effect::StartMapRun {
            run_id,
            map_run_arn,
            state_name: th.state.clone(),
            state_machine_name,
            execution_type: d.execution_type.clone(),
            inputs,
            max_concurrency,
            tolerated_percentage: tolerance.percentage,
            tolerated_count: tolerance.count,
            seed,
        });
        Ok(Flow::Blocked)
    }

    /// Redrives the Map Run this thread's Distributed Map started (RedriveExecution of the parent):
    /// `MapRunRedriven`, then the thread waits for the same run again.
    pub(super) fn map_run_redrive(&mut self, th: &mut Thread) -> Option<Flow> {
        let r = th.map_run.as_mut()?;
        r.redrives = r.redrives.saturating_add(1);
        let (run_id, arn, count) = (r.run_id, r.arn.clone(), r.redrives);
        self.push(
            "MapRunRedriven",
            "mapRunRedrivenEventDetails",
            json!({"mapRunArn": arn, "redriveCount": count}),
        );
        th.waiting = Waiting::MapRun { run_id };
        self.out.effects.push(Effect::RedriveMapRun {
            run_id,
            map_run_arn: arn,
        });
        Some(Flow::Blocked)
    }

    /// `MapRunAborted` for each Map Run a cancelled thread (or one of its running children) waits
    /// for.
    pub(super) fn map_runs_aborted(&mut self, th: &Thread) {
        if let Waiting::MapRun { .. } = th.waiting {
            self.push("MapRunAborted", "", Value::Null);
        }
        if let Some(fan) = &th.fanout {
            for (c, r) in fan.children.iter().zip(&fan.results) {
                if let (Some(c), None) = (c, r) {
                    self.map_runs_aborted(c);
                }
            }
        }
    }

    pub(super) fn map_run_deliver(
        &mut self,
        state: &State,
        th: &mut Thread,
        run_id: u64,
        ev: &Event,
    ) -> Option<Flow> {
        let Event::MapRunEnded {
            run_id: r,
            succeeded,
            results,
            error,
            cause,
        } = ev
        else {
            return None;
        };
        if *r != run_id {
            return None;
        }
        th.waiting = Waiting::Nothing;
        if !*succeeded {
            self.push(
                "MapRunFailed",
                "mapRunFailedEventDetails",
                json!({"error": error, "cause": cause}),
            );
            self.push("MapStateFailed", "", Value::Null);
            return Some(self.state_failed(state, th, error.clone(), cause.clone()));
        }
        self.push("MapRunSucceeded", "", Value::Null);
        self.push("MapStateSucceeded", "", Value::Null);
        let result = Value::Array(results.clone());
        let ctx = self.context(th, None);
        let raw = th.raw_input.clone();
        Some(
            match dataflow::state_output(state, &raw, &result, &ctx, self.entropy) {
                Ok(out) => self.exit(state, th, out),
                Err(e) => {
                    let (error, cause) = self.runtime(th, e);
                    self.state_failed(state, th, error, cause)
                }
            },
        )
    }
}
