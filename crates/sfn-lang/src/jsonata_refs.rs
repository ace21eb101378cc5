//! What a JSONata expression refers to, for the create-time checks AWS makes beyond syntax. A Step
//! Functions expression is evaluated with no context item (the input is `$states.input`, variables
//! are `$name`), so AWS refuses at CreateStateMachine / UpdateStateMachine /
//! ValidateStateMachineDefinition, with `UNSUPPORTED_JSONATA_EXPRESSION`:
//!
//! - `$` where the top-level context would be read: `Reference to '$' at the top level is not
//!   supported.`;
//! - `$$` there: `Reference to '$$' is not supported.`;
//! - a bare field name there (`phone`, `a.b`): `Reference to 'phone' at the top level is not
//!   supported.`;
//! - `$states.errorOutput` outside a catcher's `Output` / `Assign`: `Field '$states.errorOutput'
//!   does not exist.`
//!
//! "Where the top-level context would be read": the expression itself, the operands of operators,
//! function arguments, array and object constructors, blocks, conditions and lambda bodies (a lambda
//! keeps the context it is defined in) — but not a path's later steps, predicates, sort terms,
//! grouping or transforms, which run against the values of the step before them.

use seuil::parser::ast::{Ast, AstKind, BinaryOp, UnaryOp};

/// The code AWS gives these refusals.
pub const UNSUPPORTED: &str = "UNSUPPORTED_JSONATA_EXPRESSION";

/// The first reference AWS refuses in `ast`, as AWS words it; `errors_allowed`: the expression is a
/// catcher's `Output` / `Assign` (where `$states.errorOutput` exists).
pub fn problem(ast: &Ast, errors_allowed: bool) -> Option<String> {
    if let Some(p) = top_level(ast) {
        return Some(p);
    }
    if !errors_allowed && mentions_states_field(ast, "errorOutput") {
        return Some("Field '$states.errorOutput' does not exist.".into());
    }
    None
}

/// A reference to the (absent) top-level context.
fn top_level(ast: &Ast) -> Option<String> {
    match &ast.kind {
        AstKind::Var(v) if v.is_empty() => {
            Some("Reference to '$' at the top level is not supported.".into())
        }
        AstKind::Var(v) if v == "$" => Some("Reference to '$$' is not supported.".into()),
        AstKind::Name(n) => Some(format!(
            "Reference to '{n}' at the top level is not supported."
        )),
        // Only a path's first step reads the context around the path.
        AstKind::Path(steps) => steps.first().and_then(top_level),
        AstKind::Unary(UnaryOp::Minus(x)) => top_level(x),
        AstKind::Unary(UnaryOp::ArrayConstructor(items)) | AstKind::Block(items) => {
            items.iter().find_map(top_level)
        }
        AstKind::Unary(UnaryOp::ObjectConstructor(pairs)) => pairs
            .iter()
            .find_map(|(k, v)| top_level(k).or_else(|| top_level(v))),
        AstKind::Binary(op, l, r) => match op {
            // `l[r]`, `l.r`, `l@$v`, `l#$i`: `r` runs against `l`'s values.
            BinaryOp::Predicate | BinaryOp::Map | BinaryOp::FocusBind | BinaryOp::IndexBind => {
                top_level(l)
            }
            // `$v := r`: the left side is a variable.
            BinaryOp::Bind => top_level(r),
            _ => top_level(l).or_else(|| top_level(r)),
        },
        AstKind::GroupBy(l, _) | AstKind::OrderBy(l, _) => top_level(l),
        AstKind::Function { proc, args, .. } => {
            top_level(proc).or_else(|| args.iter().find_map(top_level))
        }
        AstKind::Lambda { body, .. } => top_level(body),
        AstKind::Ternary {
            cond,
            truthy,
            falsy,
        } => top_level(cond)
            .or_else(|| top_level(truthy))
            .or_else(|| falsy.as_deref().and_then(top_level)),
        _ => None,
    }
}

/// Whether `$states.<field>` appears anywhere in `ast`.
fn mentions_states_field(ast: &Ast, field: &str) -> bool {
    if let AstKind::Path(steps) = &ast.kind {
        if let [first, second, ..] = steps.as_slice() {
            if matches!(&first.kind, AstKind::Var(v) if v == "states")
                && matches!(&second.kind, AstKind::Name(n) if n == field)
            {
                return true;
            }
        }
    }
    children(ast).any(|c| mentions_states_field(c, field))
}

/// Every node directly under `ast`.
fn children(ast: &Ast) -> impl Iterator<Item = &Ast> {
    let mut out: Vec<&Ast> = Vec::new();
    match &ast.kind {
        AstKind::Unary(UnaryOp::Minus(x)) | AstKind::Filter(x) => out.push(x),
        AstKind::Unary(UnaryOp::ArrayConstructor(items))
        | AstKind::Block(items)
        | AstKind::Path(items) => out.extend(items),
        AstKind::Unary(UnaryOp::ObjectConstructor(pairs)) => {
            for (k, v) in pairs {
                out.push(k);
                out.push(v);
            }
        }
        AstKind::Binary(_, l, r) => {
            out.push(l);
            out.push(r);
        }
        AstKind::GroupBy(l, pairs) => {
            out.push(l);
            for (k, v) in pairs {
                out.push(k);
                out.push(v);
            }
        }
        AstKind::OrderBy(l, terms) => {
            out.push(l);
            out.extend(terms.iter().map(|(t, _)| t));
        }
        AstKind::Sort(terms) => out.extend(terms.iter().map(|(t, _)| t)),
        AstKind::Function { proc, args, .. } => {
            out.push(proc);
            out.extend(args);
        }
        AstKind::Lambda { args, body, .. } => {
            out.extend(args);
            out.push(body);
        }
        AstKind::Ternary {
            cond,
            truthy,
            falsy,
        } => {
            out.push(cond);
            out.push(truthy);
            out.extend(falsy.as_deref());
        }
        AstKind::Transform {
            pattern,
            update,
            delete,
        } => {
            out.push(pattern);
            out.push(update);
            out.extend(delete.as_deref());
        }
        _ => {}
    }
    out.extend(ast.predicates.iter().flatten());
    out.extend(ast.stages.iter().flatten());
    if let Some((_, pairs)) = &ast.group_by {
        for (k, v) in pairs {
            out.push(k);
            out.push(v);
        }
    }
    out.into_iter()
}

/// The workflow variables an expression reads: every `$name` but `$states`, `$` / `$$`, the names
/// it binds itself (`$x := ...`, a function's parameters) and the functions it calls.
pub fn variables(ast: &Ast) -> std::collections::BTreeSet<String> {
    let mut bound = std::collections::BTreeSet::new();
    bindings(ast, &mut bound);
    let mut out = std::collections::BTreeSet::new();
    read(ast, &bound, &mut out);
    out
}

/// Names bound anywhere in the expression.
fn bindings(ast: &Ast, bound: &mut std::collections::BTreeSet<String>) {
    match &ast.kind {
        AstKind::Binary(BinaryOp::Bind, l, _) => {
            if let AstKind::Var(v) = &l.kind {
                bound.insert(v.clone());
            }
        }
        AstKind::Lambda { args, .. } => {
            for a in args {
                if let AstKind::Var(v) = &a.kind {
                    bound.insert(v.clone());
                }
            }
        }
        _ => {}
    }
    bound.extend(ast.focus.iter().cloned());
    bound.extend(ast.index.iter().cloned());
    children(ast).for_each(|c| bindings(c, bound));
}

fn read(
    ast: &Ast,
    bound: &std::collections::BTreeSet<String>,
    out: &mut std::collections::BTreeSet<String>,
) {
    match &ast.kind {
        AstKind::Var(v) if !v.is_empty() && v != "$" && v != "states" && !bound.contains(v) => {
            out.insert(v.clone());
        }
        // A called function is not a variable (variables hold JSON values).
        AstKind::Function { args, .. } => {
            args.iter().for_each(|a| read(a, bound, out));
            for p in ast.predicates.iter().flatten() {
                read(p, bound, out);
            }
            return;
        }
        _ => {}
    }
    children(ast).for_each(|c| read(c, bound, out));
}
