//! Metric query templates in Flagger's syntax: Go `text/template` with the functions `name`,
//! `namespace`, `target`, `service`, `ingress`, `route`, `interval` and `variables`.
//!
//! Parsing checks the syntax and that only those functions are called; rendering fills them
//! from a [`TemplateContext`]. A `{{ variables.NAME }}` with no such variable is an error,
//! where Flagger would render `<no value>` into the query.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use gtmpl::{Context, Func, Template};
use gtmpl_value::{FuncError, Value};

/// The functions a query template may call.
pub const TEMPLATE_FUNCTIONS: [&str; 8] = [
    "name",
    "namespace",
    "target",
    "service",
    "ingress",
    "route",
    "interval",
    "variables",
];

/// Values a template is rendered with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TemplateContext {
    /// Name of the Canary (`{{ name }}`).
    pub name: String,
    /// Namespace of the Canary (`{{ namespace }}`).
    pub namespace: String,
    /// Name of the target workload (`{{ target }}`).
    pub target: String,
    /// Name of the apex Service (`{{ service }}`).
    pub service: String,
    /// Name of the Ingress in `ingressRef` (`{{ ingress }}`).
    pub ingress: String,
    /// Name of the route (`{{ route }}`): the ApisixRoute, or the generated HTTPRoute.
    pub route: String,
    /// The metric's window as a Prometheus duration, e.g. `1m` (`{{ interval }}`).
    pub interval: String,
    /// The Canary's `templateVariables` (`{{ variables.NAME }}`).
    pub variables: BTreeMap<String, String>,
}

/// Why a template cannot be parsed or rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The text is not a valid template.
    #[error("query template does not parse: {0}")]
    Syntax(String),
    /// The template uses a variable the Canary does not define.
    #[error(
        "query template uses {{{{ variables.{0} }}}}, which the canary's templateVariables do not define"
    )]
    UnknownVariable(String),
    /// Rendering failed.
    #[error("query template could not be rendered: {0}")]
    Render(String),
}

/// A parsed query template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryTemplate {
    source: String,
    variables: BTreeSet<String>,
}

impl QueryTemplate {
    /// Parses `source`, failing on bad syntax and on calls to unknown functions.
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        compile(source)?;
        Ok(QueryTemplate {
            source: source.to_owned(),
            variables: referenced_variables(source),
        })
    }

    /// The template text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Names used as `{{ variables.NAME }}`.
    pub fn variables(&self) -> &BTreeSet<String> {
        &self.variables
    }

    /// The first variable the template uses that `defined` lacks.
    pub fn check_variables(&self, defined: &BTreeMap<String, String>) -> Result<(), TemplateError> {
        match self.variables.iter().find(|v| !defined.contains_key(*v)) {
            Some(missing) => Err(TemplateError::UnknownVariable(missing.clone())),
            None => Ok(()),
        }
    }

    /// Renders the template with `context`.
    pub fn render(&self, context: &TemplateContext) -> Result<String, TemplateError> {
        self.check_variables(&context.variables)?;
        let template = compile(&self.source)?;
        CURRENT.with(|current| *current.borrow_mut() = Some(context.clone()));
        let rendered = template.render(&Context::empty());
        CURRENT.with(|current| *current.borrow_mut() = None);
        rendered.map_err(|e| TemplateError::Render(e.to_string()))
    }
}

// gtmpl functions are plain `fn` pointers, so the context of the render in progress on this
// thread is kept here; `render` sets it and clears it around the synchronous render call.
thread_local! {
    static CURRENT: RefCell<Option<TemplateContext>> = const { RefCell::new(None) };
}

fn compile(source: &str) -> Result<Template, TemplateError> {
    let mut template = Template::default();
    let functions: [(&str, Func); 8] = [
        ("name", |_| field(|c| c.name.clone())),
        ("namespace", |_| field(|c| c.namespace.clone())),
        ("target", |_| field(|c| c.target.clone())),
        ("service", |_| field(|c| c.service.clone())),
        ("ingress", |_| field(|c| c.ingress.clone())),
        ("route", |_| field(|c| c.route.clone())),
        ("interval", |_| field(|c| c.interval.clone())),
        ("variables", |_| variables()),
    ];
    template.add_funcs(&functions);
    template
        .parse(source)
        .map_err(|e| TemplateError::Syntax(syntax_message(&e.to_string())))?;
    Ok(template)
}

fn field(get: impl Fn(&TemplateContext) -> String) -> Result<Value, FuncError> {
    CURRENT.with(|current| match current.borrow().as_ref() {
        Some(context) => Ok(Value::from(get(context))),
        None => Err(FuncError::Generic("no template context".into())),
    })
}

fn variables() -> Result<Value, FuncError> {
    CURRENT.with(|current| match current.borrow().as_ref() {
        Some(context) => {
            let map: std::collections::HashMap<String, Value> = context
                .variables
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v.clone())))
                .collect();
            Ok(Value::from(map))
        }
        None => Err(FuncError::Generic("no template context".into())),
    })
}

/// Turns gtmpl's "template: :2:function nope not defined" into something a user can act on.
fn syntax_message(raw: &str) -> String {
    let message = raw
        .trim_start_matches("template: ")
        .trim_start_matches(|c: char| c == ':' || c.is_ascii_digit());
    match message
        .strip_prefix("function ")
        .and_then(|m| m.strip_suffix(" not defined"))
    {
        Some(name) => format!(
            "`{name}` is not a known template variable (known: {})",
            TEMPLATE_FUNCTIONS.join(", ")
        ),
        None => message.to_owned(),
    }
}

/// Names following `variables.` inside `{{ ... }}` actions.
fn referenced_variables(source: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = source;
    while let Some(open) = rest.find("{{") {
        let action = &rest[open + 2..];
        let end = action.find("}}").unwrap_or(action.len());
        let mut inside = &action[..end];
        while let Some(at) = inside.find("variables.") {
            let preceded_by_ident = inside[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
            let tail = &inside[at + "variables.".len()..];
            let name: String = tail
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !preceded_by_ident && !name.is_empty() {
                names.insert(name);
            }
            inside = tail;
        }
        rest = &action[end..];
    }
    names
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn renders_every_flagger_function() {
        let t = QueryTemplate::parse(
            "{{ name }}|{{namespace}}|{{ target }}|{{ service }}|{{ ingress }}|{{ route }}|{{ interval }}|{{ variables.direction }}",
        )
        .unwrap();
        assert_eq!(
            t.render(&podinfo()).unwrap(),
            "podinfo|test|podinfo|podinfo-svc|podinfo-ing|podinfo-route|1m|inbound"
        );
    }

    #[test]
    fn renders_go_function_calls_such_as_printf() {
        let t = QueryTemplate::parse(
            r#"{{ printf "kube_%s__%s_canary__.*__%s_canary" namespace ingress service }}"#,
        )
        .unwrap();
        assert_eq!(
            t.render(&podinfo()).unwrap(),
            "kube_test__podinfo-ing_canary__.*__podinfo-svc_canary"
        );
    }

    #[test]
    fn an_unknown_function_is_a_parse_error_naming_it() {
        let err = QueryTemplate::parse("rate(x{ns=\"{{ namespcae }}\"}[1m])").unwrap_err();
        assert!(
            matches!(&err, TemplateError::Syntax(m) if m.contains("`namespcae` is not a known template variable")),
            "{err}"
        );
    }

    #[test]
    fn an_unclosed_action_is_a_parse_error() {
        assert!(matches!(
            QueryTemplate::parse("{{ namespace"),
            Err(TemplateError::Syntax(_))
        ));
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
            "variables.outside {{ variables.a }} {{ printf \"%s\" variables.b_2 }}",
        )
        .unwrap();
        assert_eq!(t.variables().iter().collect::<Vec<_>>(), ["a", "b_2"]);
    }
}
