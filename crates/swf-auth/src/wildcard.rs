//! IAM's wildcard match: `*` any run of characters (none included), `?` exactly one.

/// Whether `value` matches `pattern`; `fold_case` for ASCII-case-insensitive matching (actions).
pub fn matches(pattern: &str, value: &str, fold_case: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    let eq = |a: char, b: char| {
        if fold_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    // Greedy with one backtrack point: linear in practice, never exponential.
    let (mut pi, mut vi) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && eq(p[pi], v[vi]))) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn wildcards() {
        for (p, v, fold, want) in [
            ("*", "", false, true),
            ("swf:*", "swf:StartWorkflowExecution", false, true),
            ("swf:Start*", "swf:startWorkflowExecution", true, true),
            ("swf:Start*", "swf:startWorkflowExecution", false, false),
            ("swf:*Task", "swf:PollForActivityTask", false, true),
            ("a?c", "abc", false, true),
            ("a?c", "ac", false, false),
            (
                "arn:aws:swf:*:*:/domain/prod-*",
                "arn:aws:swf:us-east-1:1:/domain/prod-a",
                false,
                true,
            ),
            (
                "arn:aws:swf:*:*:/domain/prod-*",
                "arn:aws:swf:us-east-1:1:/domain/dev-a",
                false,
                false,
            ),
            ("*a*b*", "xxaxxbxx", false, true),
            ("*a*b", "xxaxxbxxc", false, false),
        ] {
            assert_eq!(matches(p, v, fold), want, "{p} {v}");
        }
    }
}
