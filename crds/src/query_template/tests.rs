use super::*;

fn podinfo() -> TemplateContext {
    TemplateContext {
        name: "podinfo".into(),
        namespace: "test".into(),
        target: "podinfo".into(),
        service: "podinfo-svc".into(),
        ingress: "podinfo-ing".into(),
        route: "podinfo-route".into(),
        interval: "1m".into(),
        variables: BTreeMap::from([("direction".into(), "inbound".into())]),
    }
}

fn render(source: &str) -> Result<String, TemplateError> {
    QueryTemplate::parse(source)?.render(&podinfo())
}

fn syntax_error(source: &str) -> String {
    match QueryTemplate::parse(source) {
        Err(TemplateError::Syntax(message)) => message,
        other => panic!("{source:?} should not parse, got {other:?}"),
    }
}

#[test]
fn renders_every_flagger_function() {
    assert_eq!(
        render(
            "{{ name }}|{{namespace}}|{{ target }}|{{ service }}|{{ ingress }}|{{ route }}|{{ interval }}|{{ variables.direction }}"
        )
        .unwrap(),
        "podinfo|test|podinfo|podinfo-svc|podinfo-ing|podinfo-route|1m|inbound"
    );
}

#[test]
fn renders_go_function_calls_such_as_printf() {
    assert_eq!(
        render(r#"{{ printf "kube_%s__%s_canary__.*__%s_canary" namespace ingress service }}"#)
            .unwrap(),
        "kube_test__podinfo-ing_canary__.*__podinfo-svc_canary"
    );
}

#[test]
fn pipelines_pass_the_value_as_the_last_argument() {
    assert_eq!(
        render(r#"{{ namespace | printf "ns=%s" }}"#).unwrap(),
        "ns=test"
    );
    assert_eq!(
        render(r#"{{ printf "%s/%s" (printf "%s-x" namespace) target }}"#).unwrap(),
        "test-x/podinfo"
    );
}

#[test]
fn trim_markers_and_comments_follow_go() {
    assert_eq!(
        render("a  {{- namespace -}}  b {{/* a comment */}}c{{- /* trimmed */ -}} d").unwrap(),
        "atestb cd"
    );
}

#[test]
fn string_literals_follow_go_escapes_and_raw_strings() {
    assert_eq!(
        render(r#"{{ "a\tb\"c\x41\u00e9" }}|{{ `raw \n }} kept` }}"#).unwrap(),
        "a\tb\"cAé|raw \\n }} kept"
    );
}

#[test]
fn printf_formats_numbers_and_text_as_go_does() {
    assert_eq!(
        render(r#"{{ printf "%d|%5d|%-4d|%05d|%+d|%x|%#X" 42 7 3 -12 5 255 255 }}"#).unwrap(),
        "42|    7|3   |-0012|+5|ff|0XFF"
    );
    assert_eq!(
        render(r#"{{ printf "%f|%.2f|%e|%g|%.3g|%v" 1.5 2.3456 1500.0 0.0000123 3.14159 2.5 }}"#)
            .unwrap(),
        "1.500000|2.35|1.500000e+03|1.23e-05|3.14|2.5"
    );
    assert_eq!(
        render(r#"{{ printf "%q|%.3s|%6s|%-6s|%%|%t" "a\"b" namespace "ab" "ab" true }}"#).unwrap(),
        "\"a\\\"b\"|tes|    ab|ab    |%|true"
    );
}

#[test]
fn print_and_println_space_as_go_does() {
    assert_eq!(render(r#"{{ print "a" 1 2 "b" }}"#).unwrap(), "a1 2b");
    assert_eq!(render(r#"{{ println "a" 1 }}"#).unwrap(), "a 1\n");
}

#[test]
fn a_verb_that_does_not_fit_its_argument_is_an_error() {
    for (source, message) in [
        (
            r#"{{ printf "%d" namespace }}"#,
            "%d does not fit the string",
        ),
        (r#"{{ printf "%s %s" namespace }}"#, "%s has no argument"),
        (r#"{{ printf "%s" namespace target }}"#, "left over"),
        ("{{ printf 3 }}", "format string"),
    ] {
        let err = render(source).unwrap_err();
        assert!(
            matches!(&err, TemplateError::Render(m) if m.contains(message)),
            "{source}: {err}"
        );
    }
}

#[test]
fn an_unknown_function_is_a_parse_error_naming_it() {
    let message = syntax_error("rate(x{ns=\"{{ namespcae }}\"}[1m])");
    assert!(
        message.contains("`namespcae` is not a known template variable"),
        "{message}"
    );
}

#[test]
fn an_unclosed_action_is_a_parse_error() {
    assert_eq!(syntax_error("{{ namespace"), "unclosed action");
    assert_eq!(syntax_error("{{ printf \"}}"), "unterminated quoted string");
}

#[test]
fn an_undefined_variable_is_an_error_not_no_value() {
    let t = QueryTemplate::parse("{{ variables.missing }}").unwrap();
    assert_eq!(
        t.render(&podinfo()),
        Err(TemplateError::UnknownVariable("missing".into()))
    );
}

#[test]
fn finds_variables_only_inside_actions() {
    let t = QueryTemplate::parse(
        "variables.outside {{ variables.a }} {{ printf \"%s\" (print variables.b_2) }}",
    )
    .unwrap();
    assert_eq!(t.variables().iter().collect::<Vec<_>>(), ["a", "b_2"]);
}

#[test]
fn a_self_recursive_template_is_refused_at_parse_time() {
    // This template overflowed the controller's stack when rendered by a Go-template engine.
    let message = syntax_error(r#"{{define "a"}}{{template "a"}}{{end}}{{template "a"}}"#);
    assert!(message.starts_with("`define` is not allowed"), "{message}");
    assert!(
        message.contains("printf"),
        "the message says what is allowed: {message}"
    );
}

#[test]
fn control_structures_and_template_variables_are_refused() {
    for (source, start) in [
        ("{{ range 1 }}{{ end }}", "`range` is not allowed"),
        ("{{ if true }}x{{ end }}", "`if` is not allowed"),
        ("{{ with namespace }}{{ end }}", "`with` is not allowed"),
        ("{{ block \"b\" 1 }}{{ end }}", "`block` is not allowed"),
        (
            "{{ $x := namespace }}",
            "template variables (`$`) are not allowed",
        ),
        ("{{ . }}", "`.` is not allowed"),
        ("{{ .Values.x }}", "`.` is not allowed"),
        ("{{ namespace \"x\" }}", "`namespace` takes no arguments"),
        ("{{ \"x\" | namespace }}", "`namespace` takes no arguments"),
        ("{{ \"a\" \"b\" }}", "only printf, print and println"),
        ("{{ variables }}", "`variables` must be followed by a name"),
        ("{{ len \"x\" }}", "`len` is not a known template variable"),
    ] {
        let message = syntax_error(source);
        assert!(message.starts_with(start), "{source}: {message}");
    }
}

#[test]
fn nesting_is_bounded() {
    let deep = format!(
        "{{{{ {}namespace{} }}}}",
        "(print ".repeat(MAX_NESTING + 1),
        ")".repeat(MAX_NESTING + 1)
    );
    assert!(syntax_error(&deep).contains("nest more than"));
    let allowed = format!(
        "{{{{ {}namespace{} }}}}",
        "(print ".repeat(MAX_NESTING),
        ")".repeat(MAX_NESTING)
    );
    assert_eq!(render(&allowed).unwrap(), "test");
}

#[test]
fn template_size_is_bounded() {
    let long = "x".repeat(MAX_TEMPLATE_BYTES + 1);
    assert!(syntax_error(&long).contains("at most 16384"));
    assert!(QueryTemplate::parse(&"x".repeat(MAX_TEMPLATE_BYTES)).is_ok());
}

#[test]
fn rendered_size_is_bounded() {
    // 70 actions of 1000 characters each would render 70,000 bytes.
    let wide = r#"{{ printf "%1000s" namespace }}"#.repeat(70);
    let err = render(&wide).unwrap_err();
    assert!(
        matches!(&err, TemplateError::Render(m) if m.contains("longer than 65536 bytes")),
        "{err}"
    );
    let err = render(r#"{{ printf "%1001s" namespace }}"#).unwrap_err();
    assert!(
        matches!(&err, TemplateError::Render(m) if m.contains("above 1000")),
        "{err}"
    );
}

#[test]
fn parsing_any_input_never_panics() {
    // A cheap sweep over odd inputs; the fuzz target goes further.
    for source in [
        "{{",
        "}}",
        "{{}}",
        "{{-}}",
        "{{- -}}",
        "{{ ( }}",
        "{{ ) }}",
        "{{ | }}",
        "{{ printf | }}",
        "{{ \"\\",
        "{{ `",
        "{{ 0x }}",
        "{{ 1e }}",
        "{{ -- }}",
        "{{ é }}",
        "{{/*",
        "{{/* */",
        "{{ \"\\u12\" }}",
        "{{ \"\\777\" }}",
        "{{ 99999999999999999999 }}",
        "{{ variables. }}",
    ] {
        if let Ok(t) = QueryTemplate::parse(source) {
            let _ = t.render(&podinfo());
        }
    }
}
