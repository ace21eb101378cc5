//! History events: how the core builds a `HistoryEvent` from one of the 54 attribute shapes.

use crate::common::Timestamp;
use crate::shapes::{EventType, HistoryEvent};

/// Implemented (by the build script) for every `<x>EventAttributes` shape: which event type it is and
/// which member of `HistoryEvent` carries it.
pub trait EventAttributes {
    /// The event type whose attributes these are.
    const EVENT_TYPE: EventType;
    /// Stores the attributes in their member of `event`.
    fn put(self, event: &mut HistoryEvent);
}

impl HistoryEvent {
    /// A history event with id, timestamp, type and its one attributes member set.
    pub fn new<A: EventAttributes>(event_id: i64, time: Timestamp, attributes: A) -> HistoryEvent {
        let mut event = HistoryEvent {
            event_id,
            event_timestamp: time,
            event_type: A::EVENT_TYPE,
            ..Default::default()
        };
        attributes.put(&mut event);
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shapes::*;

    #[test]
    fn event_serializes_as_swf_does() {
        let e = HistoryEvent::new(
            3,
            Timestamp(1_700_000_000_250),
            ActivityTaskCompletedEventAttributes {
                result: Some("r".into()),
                scheduled_event_id: 5,
                started_event_id: 6,
            },
        );
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "eventId": 3,
                "eventTimestamp": 1700000000.25,
                "eventType": "ActivityTaskCompleted",
                "activityTaskCompletedEventAttributes": {"result": "r", "scheduledEventId": 5, "startedEventId": 6}
            })
        );
        let back: HistoryEvent = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(back, e);
        crate::model::validate_shape(crate::model::model(), "HistoryEvent", &v, "").unwrap();
    }
}
