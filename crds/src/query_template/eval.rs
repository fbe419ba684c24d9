//! Rendering a parsed template: each action's pipeline is evaluated and written out. There are
//! no loops, so the work is linear in the template; the output is capped at
//! [`MAX_RENDERED_BYTES`].

use super::parse::{Command, ContextField, Function, Node, Operand, Pipeline};
use super::printf::{sprint, sprintf, sprintln};
use super::{MAX_RENDERED_BYTES, TemplateContext, TemplateError};

/// A value inside a pipeline.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Value {
    Text(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
}

impl Value {
    /// The value as Go's `%v` writes it.
    pub(super) fn display(&self) -> String {
        match self {
            Value::Text(text) => text.clone(),
            Value::Integer(i) => i.to_string(),
            Value::Float(f) => go_float(*f),
            Value::Bool(b) => b.to_string(),
        }
    }

    /// Go's type name, for error messages.
    pub(super) fn type_name(&self) -> &'static str {
        match self {
            Value::Text(_) => "string",
            Value::Integer(_) => "int",
            Value::Float(_) => "float64",
            Value::Bool(_) => "bool",
        }
    }
}

/// A float the way Go's `%v` prints it: the shortest form, with an exponent for very large or
/// small magnitudes.
pub(super) fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e21).contains(&abs) {
        let text = format!("{f:e}");
        // Rust writes `1e21` and `1.5e-7`; Go writes `1e+21` and `1.5e-07`.
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let (sign, digits) = match exponent.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exponent),
        };
        return format!("{mantissa}e{sign}{digits:0>2}");
    }
    format!("{f}")
}

pub(super) fn render(nodes: &[Node], context: &TemplateContext) -> Result<String, TemplateError> {
    let mut out = String::new();
    for node in nodes {
        match node {
            Node::Text(text) => out.push_str(text),
            Node::Action(pipeline) => out.push_str(&pipeline_value(pipeline, context)?.display()),
        }
        if out.len() > MAX_RENDERED_BYTES {
            return Err(too_long());
        }
    }
    Ok(out)
}

fn too_long() -> TemplateError {
    TemplateError::Render(format!(
        "the rendered query would be longer than {MAX_RENDERED_BYTES} bytes"
    ))
}

fn pipeline_value(pipeline: &Pipeline, context: &TemplateContext) -> Result<Value, TemplateError> {
    let mut previous: Option<Value> = None;
    for command in &pipeline.commands {
        let value = match command {
            Command::Value(operand) => operand_value(operand, context)?,
            Command::Call {
                function,
                arguments,
            } => {
                let mut values = arguments
                    .iter()
                    .map(|a| operand_value(a, context))
                    .collect::<Result<Vec<_>, _>>()?;
                values.extend(previous.take());
                call(*function, &values, context)?
            }
        };
        if let Value::Text(text) = &value
            && text.len() > MAX_RENDERED_BYTES
        {
            return Err(too_long());
        }
        previous = Some(value);
    }
    // A parsed pipeline has at least one command.
    previous.ok_or_else(|| TemplateError::Render("empty pipeline".to_owned()))
}

fn operand_value(operand: &Operand, context: &TemplateContext) -> Result<Value, TemplateError> {
    Ok(match operand {
        Operand::Call(function) => call(*function, &[], context)?,
        Operand::Variable(name) => Value::Text(
            context
                .variables
                .get(name)
                .cloned()
                .ok_or_else(|| TemplateError::UnknownVariable(name.clone()))?,
        ),
        Operand::Text(text) => Value::Text(text.clone()),
        Operand::Integer(i) => Value::Integer(*i),
        Operand::Float(text) => Value::Float(
            text.parse()
                .map_err(|_| TemplateError::Render(format!("bad number {text}")))?,
        ),
        Operand::Bool(b) => Value::Bool(*b),
        Operand::Nested(inner) => pipeline_value(inner, context)?,
    })
}

fn call(
    function: Function,
    arguments: &[Value],
    context: &TemplateContext,
) -> Result<Value, TemplateError> {
    let text = match function {
        Function::Context(field) => {
            if !arguments.is_empty() {
                return Err(TemplateError::Render(format!(
                    "`{}` takes no arguments",
                    super::parse::function_name(function)
                )));
            }
            match field {
                ContextField::Name => context.name.clone(),
                ContextField::Namespace => context.namespace.clone(),
                ContextField::Target => context.target.clone(),
                ContextField::Service => context.service.clone(),
                ContextField::Ingress => context.ingress.clone(),
                ContextField::Route => context.route.clone(),
                ContextField::Interval => context.interval.clone(),
            }
        }
        Function::Printf => {
            let Some((Value::Text(format), rest)) = arguments.split_first() else {
                return Err(TemplateError::Render(
                    "printf needs a format string as its first argument".to_owned(),
                ));
            };
            sprintf(format, rest).map_err(|e| TemplateError::Render(format!("printf: {e}")))?
        }
        Function::Print => sprint(arguments),
        Function::Println => sprintln(arguments),
    };
    Ok(Value::Text(text))
}
