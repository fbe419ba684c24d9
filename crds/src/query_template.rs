//! Metric query templates in Flagger's syntax: the part of Go `text/template` that Flagger's
//! templates use, with the functions `name`, `namespace`, `target`, `service`, `ingress`, `route`,
//! `interval` and `variables`, and Go's `printf`, `print` and `println`.
//!
//! Templates are written by Canary authors, who are not trusted: parsing accepts only actions that
//! produce a value (`{{ namespace }}`, `{{ variables.direction }}`,
//! `{{ printf "%s-%s" namespace target }}`, pipelines and parentheses), and refuses control
//! structures (`if`, `range`, `with`, `define`, `template`, `block`, ...) and template variables.
//! Without loops or recursion a render is linear in the size of the template, and the template's
//! size, its nesting and the rendered text are bounded, so no template can exhaust the stack,
//! the memory or the time of the controller. A `{{ variables.NAME }}` with no such variable is
//! an error, where Flagger would render `<no value>` into the query.

mod eval;
mod parse;
mod printf;

use std::collections::{BTreeMap, BTreeSet};

use parse::{Node, Operand};

/// The functions a query template may call that read the Canary.
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

/// Go's formatting functions a query template may call.
pub const FORMAT_FUNCTIONS: [&str; 3] = ["printf", "print", "println"];

/// The longest template accepted, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 16 * 1024;

/// The longest rendered query, in bytes.
pub const MAX_RENDERED_BYTES: usize = 64 * 1024;

/// How deeply parentheses may nest inside one action.
pub const MAX_NESTING: usize = 8;

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
    /// The text is not a valid template, or uses what query templates do not allow.
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
    nodes: Vec<Node>,
    variables: BTreeSet<String>,
}

impl QueryTemplate {
    /// Parses `source`, failing on bad syntax, on calls to unknown functions, on control
    /// structures and on templates over [`MAX_TEMPLATE_BYTES`].
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        if source.len() > MAX_TEMPLATE_BYTES {
            return Err(TemplateError::Syntax(format!(
                "the template is {} bytes long; at most {MAX_TEMPLATE_BYTES} are allowed",
                source.len()
            )));
        }
        let nodes = parse::parse(source).map_err(TemplateError::Syntax)?;
        let mut variables = BTreeSet::new();
        for node in &nodes {
            if let Node::Action(pipeline) = node {
                pipeline.visit_operands(&mut |operand| {
                    if let Operand::Variable(name) = operand {
                        variables.insert(name.clone());
                    }
                });
            }
        }
        Ok(QueryTemplate {
            source: source.to_owned(),
            nodes,
            variables,
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

    /// Renders the template with `context`. The result is at most [`MAX_RENDERED_BYTES`] long.
    pub fn render(&self, context: &TemplateContext) -> Result<String, TemplateError> {
        self.check_variables(&context.variables)?;
        eval::render(&self.nodes, context)
    }
}

#[cfg(test)]
mod tests;
