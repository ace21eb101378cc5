//! The generated action enums name exactly the models' operations, both ways.

use swf_types::actions::{SfnAction, SwfAction};

#[test]
fn every_swf_operation_is_an_action_and_back() {
    let ops = &swf_types::model::model().operations;
    assert_eq!(SwfAction::ALL.len(), 39);
    assert_eq!(SwfAction::ALL.len(), ops.len());
    for a in SwfAction::ALL {
        assert!(ops.contains_key(a.name()), "{a:?}");
        assert_eq!(SwfAction::from_name(a.name()), Some(*a));
    }
    assert_eq!(SwfAction::from_name("_AddMember"), None);
    assert_eq!(SwfAction::from_name("registerdomain"), None);
}

#[test]
fn every_step_functions_operation_is_an_action_and_back() {
    let ops = &swf_types::model::sfn_model().operations;
    assert_eq!(SfnAction::ALL.len(), ops.len());
    for a in SfnAction::ALL {
        assert!(ops.contains_key(a.name()), "{a:?}");
        assert_eq!(SfnAction::from_name(a.name()), Some(*a));
    }
    // The names the two APIs share map to an action of each.
    for shared in ["TagResource", "UntagResource", "ListTagsForResource"] {
        assert!(SwfAction::from_name(shared).is_some() && SfnAction::from_name(shared).is_some());
    }
}
