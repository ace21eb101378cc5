//! Quotas and naming the core enforces, with SWF's and Step Functions' published values as defaults.

use serde::{Deserialize, Serialize};

/// Limits applied by the state machine. Every node of a cluster must use the same values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    pub max_domains: usize,
    pub max_types_per_domain: usize,
    pub max_tags: usize,
    pub max_retention_days: u32,
    pub max_open_activities: usize,
    pub max_open_timers: usize,
    pub max_open_children: usize,
    /// Events in one history; reaching it terminates the execution (cause EVENT_LIMIT_EXCEEDED).
    pub max_history_events: usize,
    /// Step Functions activities (past it CreateActivity answers `ActivityLimitExceeded`).
    pub sfn_max_activities: usize,
    /// Step Functions state machines (`StateMachineLimitExceeded`).
    pub sfn_max_state_machines: usize,
    /// Step Functions executions open at once (StartExecution answers `ExecutionLimitExceeded`).
    pub sfn_max_open_executions: usize,
    /// Region and account used in domain ARNs.
    pub region: String,
    pub account_id: String,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_domains: 100,
            max_types_per_domain: 10_000,
            max_tags: 50,
            max_retention_days: 90,
            max_open_activities: 1_000,
            max_open_timers: 1_000,
            max_open_children: 1_000,
            max_history_events: 25_000,
            // AWS's default quotas per account and region ("Step Functions service quotas": registered
            // activities 10,000, registered state machines 10,000, open executions 1,000,000).
            sfn_max_activities: 10_000,
            sfn_max_state_machines: 10_000,
            sfn_max_open_executions: 1_000_000,
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
        }
    }
}

impl Limits {
    /// The ARN of a domain, as SWF forms it.
    pub fn domain_arn(&self, domain: &str) -> String {
        format!(
            "arn:aws:swf:{}:{}:/domain/{}",
            self.region, self.account_id, domain
        )
    }
}
