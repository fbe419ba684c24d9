//! Parsing query templates: text and `{{ actions }}`, where an action is a pipeline of calls to
//! the allowed functions. Everything else Go templates have is refused with a message that says
//! what is allowed. Recursion is bounded by [`MAX_NESTING`].

use super::{FORMAT_FUNCTIONS, MAX_NESTING, TEMPLATE_FUNCTIONS};

/// A piece of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Node {
    /// Text copied as it is.
    Text(String),
    /// `{{ pipeline }}`: its value is written out.
    Action(Pipeline),
}

/// `command | command | ...`: each command's value is the last argument of the next one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Pipeline {
    pub(super) commands: Vec<Command>,
}

/// A function call with its arguments, or a single value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Command {
    /// `printf "%s" namespace`.
    Call {
        function: Function,
        arguments: Vec<Operand>,
    },
    /// `"text"`, `variables.x`, `(pipeline)`: only as the first command of a pipeline.
    Value(Operand),
}

/// A function a template may call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Function {
    /// One of the Canary's values, by its index in [`TEMPLATE_FUNCTIONS`] (not `variables`).
    Context(ContextField),
    /// Go's `fmt.Sprintf`.
    Printf,
    /// Go's `fmt.Sprint`.
    Print,
    /// Go's `fmt.Sprintln`.
    Println,
}

/// The Canary's values that a template reads by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ContextField {
    Name,
    Namespace,
    Target,
    Service,
    Ingress,
    Route,
    Interval,
}

/// An argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Operand {
    /// A function called without arguments, such as `namespace` in `printf "%s" namespace`.
    Call(Function),
    /// `variables.NAME`.
    Variable(String),
    /// A string literal, escapes resolved.
    Text(String),
    /// An integer literal.
    Integer(i64),
    /// A floating-point literal, as written (parsed when rendered).
    Float(String),
    /// `true` or `false`.
    Bool(bool),
    /// `( pipeline )`.
    Nested(Box<Pipeline>),
}

impl Pipeline {
    /// Calls `f` on every operand, nested pipelines included.
    pub(super) fn visit_operands(&self, f: &mut dyn FnMut(&Operand)) {
        for command in &self.commands {
            let operands: &[Operand] = match command {
                Command::Call { arguments, .. } => arguments,
                Command::Value(operand) => std::slice::from_ref(operand),
            };
            for operand in operands {
                f(operand);
                if let Operand::Nested(inner) = operand {
                    inner.visit_operands(f);
                }
            }
        }
    }
}

/// What query templates allow, for error messages.
fn allowed() -> String {
    format!(
        "query templates allow only values: the functions {}, variables.NAME, {}, literals and pipelines",
        TEMPLATE_FUNCTIONS[..7].join(", "),
        FORMAT_FUNCTIONS.join(", ")
    )
}

const KEYWORDS: [&str; 11] = [
    "if", "else", "end", "range", "with", "define", "template", "block", "break", "continue", "nil",
];

/// Parses a whole template into its nodes.
pub(super) fn parse(source: &str) -> Result<Vec<Node>, String> {
    let mut nodes = Vec::new();
    let mut rest = source;
    let mut trim_next_text = false;
    while !rest.is_empty() {
        let (text, after) = match rest.find("{{") {
            Some(at) => (&rest[..at], Some(&rest[at + 2..])),
            None => (rest, None),
        };
        let mut text = if trim_next_text {
            text.trim_start_matches(is_space)
        } else {
            text
        };
        let Some(after) = after else {
            push_text(&mut nodes, text);
            break;
        };
        let (trim_left, inside) = match after.strip_prefix('-') {
            Some(tail) if tail.starts_with(is_space) => (true, tail),
            _ => (false, after),
        };
        if trim_left {
            text = text.trim_end_matches(is_space);
        }
        push_text(&mut nodes, text);
        let (action, trim_right, tail) = split_action(inside)?;
        if let Some(pipeline) = action_pipeline(action)? {
            nodes.push(Node::Action(pipeline));
        }
        trim_next_text = trim_right;
        rest = tail;
    }
    Ok(nodes)
}

fn push_text(nodes: &mut Vec<Node>, text: &str) {
    if !text.is_empty() {
        nodes.push(Node::Text(text.to_owned()));
    }
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// The inside of one action, whether it ends with a trim marker, and the text after `}}`.
/// Quoted `}}` inside strings do not end the action.
fn split_action(inside: &str) -> Result<(&str, bool, &str), String> {
    let trimmed = inside.trim_start_matches(is_space);
    if trimmed.starts_with("/*") {
        let end = trimmed
            .find("*/")
            .ok_or_else(|| "unclosed comment".to_owned())?;
        let after = trimmed[end + 2..].trim_start_matches(is_space);
        return match after.strip_prefix("-}}") {
            Some(tail) => Ok(("", true, tail)),
            None => after
                .strip_prefix("}}")
                .map(|tail| ("", false, tail))
                .ok_or_else(|| "comment ends before the action closes".to_owned()),
        };
    }
    let bytes = inside.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            quote @ (b'"' | b'`') => {
                at += 1;
                while at < bytes.len() && bytes[at] != quote {
                    if quote == b'"' && bytes[at] == b'\\' {
                        at += 1;
                    }
                    at += 1;
                }
                if at >= bytes.len() {
                    return Err("unterminated quoted string".to_owned());
                }
            }
            b'}' if bytes.get(at + 1) == Some(&b'}') => {
                let action = &inside[..at];
                let tail = &inside[at + 2..];
                return Ok(match action.strip_suffix('-') {
                    Some(body) if body.ends_with(is_space) => (body, true, tail),
                    _ => (action, false, tail),
                });
            }
            _ => {}
        }
        at += 1;
    }
    Err("unclosed action".to_owned())
}

/// The pipeline of one action; `None` for an empty action such as a comment.
fn action_pipeline(action: &str) -> Result<Option<Pipeline>, String> {
    let tokens = tokenize(action)?;
    if tokens.is_empty() {
        return Ok(None);
    }
    let mut parser = Parser { tokens, at: 0 };
    let pipeline = parser.pipeline(0)?;
    match parser.tokens.get(parser.at) {
        None => Ok(Some(pipeline)),
        Some(token) => Err(format!("unexpected {} in action", token.describe())),
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Identifier(String),
    Field(String),
    Text(String),
    Number(String),
    Pipe,
    Open,
    Close,
    Dollar,
    Dot,
    Other(char),
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Identifier(name) => format!("`{name}`"),
            Token::Field(name) => format!("`.{name}`"),
            Token::Text(text) => format!("string {text:?}"),
            Token::Number(number) => format!("number {number}"),
            Token::Pipe => "`|`".to_owned(),
            Token::Open => "`(`".to_owned(),
            Token::Close => "`)`".to_owned(),
            Token::Dollar => "`$`".to_owned(),
            Token::Dot => "`.`".to_owned(),
            Token::Other(c) => format!("`{c}`"),
        }
    }
}

fn tokenize(action: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = action.chars().collect();
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        let start = at;
        at += 1;
        let token = match c {
            c if is_space(c) => continue,
            '|' => Token::Pipe,
            '(' => Token::Open,
            ')' => Token::Close,
            '$' => Token::Dollar,
            '"' => {
                let (text, end) = interpreted_string(&chars, at)?;
                at = end;
                Token::Text(text)
            }
            '`' => {
                let end = chars[at..]
                    .iter()
                    .position(|c| *c == '`')
                    .ok_or_else(|| "unterminated raw string".to_owned())?;
                let text: String = chars[at..at + end].iter().collect();
                at += end + 1;
                Token::Text(text)
            }
            '.' if chars.get(at).is_some_and(|c| is_ident_start(*c)) => {
                while chars.get(at).is_some_and(|c| is_ident_char(*c)) {
                    at += 1;
                }
                Token::Field(chars[start + 1..at].iter().collect())
            }
            '.' => Token::Dot,
            c if c.is_ascii_digit()
                || (matches!(c, '-' | '+') && chars.get(at).is_some_and(char::is_ascii_digit)) =>
            {
                while chars
                    .get(at)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_'))
                    || (chars.get(at).is_some_and(|c| matches!(c, '+' | '-'))
                        && matches!(chars[at - 1], 'e' | 'E'))
                {
                    at += 1;
                }
                Token::Number(chars[start..at].iter().collect())
            }
            c if is_ident_start(c) => {
                while chars.get(at).is_some_and(|c| is_ident_char(*c)) {
                    at += 1;
                }
                Token::Identifier(chars[start..at].iter().collect())
            }
            other => Token::Other(other),
        };
        tokens.push(token);
    }
    Ok(tokens)
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A `"..."` string starting after its opening quote, with Go's escapes; returns the text and
/// the index after the closing quote.
fn interpreted_string(chars: &[char], mut at: usize) -> Result<(String, usize), String> {
    let mut out = String::new();
    loop {
        let c = *chars
            .get(at)
            .ok_or_else(|| "unterminated quoted string".to_owned())?;
        at += 1;
        match c {
            '"' => return Ok((out, at)),
            '\n' => return Err("newline in quoted string".to_owned()),
            '\\' => {
                let escape = *chars
                    .get(at)
                    .ok_or_else(|| "unterminated quoted string".to_owned())?;
                at += 1;
                let simple = match escape {
                    'n' => Some('\n'),
                    't' => Some('\t'),
                    'r' => Some('\r'),
                    'a' => Some('\u{7}'),
                    'b' => Some('\u{8}'),
                    'f' => Some('\u{c}'),
                    'v' => Some('\u{b}'),
                    '\\' => Some('\\'),
                    '"' => Some('"'),
                    '\'' => Some('\''),
                    _ => None,
                };
                if let Some(c) = simple {
                    out.push(c);
                    continue;
                }
                let (digits, radix) = match escape {
                    'x' => (2, 16),
                    'u' => (4, 16),
                    'U' => (8, 16),
                    '0'..='7' => {
                        at -= 1;
                        (3, 8)
                    }
                    other => return Err(format!("unknown escape sequence \\{other}")),
                };
                let code: String = chars
                    .get(at..at + digits)
                    .unwrap_or_default()
                    .iter()
                    .collect();
                let value = u32::from_str_radix(&code, radix)
                    .ok()
                    .filter(|_| code.len() == digits)
                    .ok_or_else(|| format!("invalid escape sequence \\{escape}{code}"))?;
                at += digits;
                // \x and octal escapes are bytes in Go; query text is UTF-8, so only ASCII is kept.
                let c = char::from_u32(value)
                    .filter(|c| matches!(escape, 'u' | 'U') || c.is_ascii())
                    .ok_or_else(|| {
                        format!("escape sequence \\{escape}{code} is not a character")
                    })?;
                out.push(c);
            }
            c => out.push(c),
        }
    }
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn pipeline(&mut self, depth: usize) -> Result<Pipeline, String> {
        if depth > MAX_NESTING {
            return Err(format!("parentheses nest more than {MAX_NESTING} deep"));
        }
        let mut commands = vec![self.command(depth, true)?];
        while self.peek() == Some(&Token::Pipe) {
            self.at += 1;
            commands.push(self.command(depth, false)?);
        }
        Ok(Pipeline { commands })
    }

    fn command(&mut self, depth: usize, first: bool) -> Result<Command, String> {
        let head = self.operand(depth)?;
        let mut arguments = Vec::new();
        while !matches!(self.peek(), None | Some(Token::Pipe | Token::Close)) {
            arguments.push(self.operand(depth)?);
        }
        match head {
            Operand::Call(function) => {
                if matches!(function, Function::Context(_)) && (!arguments.is_empty() || !first) {
                    return Err(format!("`{}` takes no arguments", function_name(function)));
                }
                Ok(Command::Call {
                    function,
                    arguments,
                })
            }
            value if first && arguments.is_empty() => Ok(Command::Value(value)),
            _ => Err("only printf, print and println can take arguments or follow `|`".to_owned()),
        }
    }

    fn operand(&mut self, depth: usize) -> Result<Operand, String> {
        let token = self
            .next()
            .ok_or_else(|| "missing value in action".to_owned())?;
        let operand = match token {
            Token::Identifier(name) => return self.identifier(&name),
            Token::Text(text) => Operand::Text(text),
            Token::Number(number) => number_literal(&number)?,
            Token::Open => {
                let inner = self.pipeline(depth + 1)?;
                if self.next() != Some(Token::Close) {
                    return Err("unclosed `(`".to_owned());
                }
                Operand::Nested(Box::new(inner))
            }
            Token::Dollar => {
                return Err(format!(
                    "template variables (`$`) are not allowed: {}",
                    allowed()
                ));
            }
            Token::Dot | Token::Field(_) => {
                return Err(format!(
                    "`.` is not allowed: query templates have no data; {}",
                    allowed()
                ));
            }
            Token::Pipe | Token::Close | Token::Other(_) => {
                return Err(format!("unexpected {} in action", token.describe()));
            }
        };
        if let Some(Token::Field(field)) = self.peek() {
            return Err(format!("`.{field}` cannot follow a literal or `)`"));
        }
        Ok(operand)
    }

    fn identifier(&mut self, name: &str) -> Result<Operand, String> {
        if KEYWORDS.contains(&name) {
            return Err(format!("`{name}` is not allowed: {}", allowed()));
        }
        if name == "true" || name == "false" {
            return Ok(Operand::Bool(name == "true"));
        }
        if name == "variables" {
            return match self.next() {
                Some(Token::Field(variable)) => {
                    if let Some(Token::Field(more)) = self.peek() {
                        return Err(format!(
                            "`variables.{variable}.{more}`: variables hold text, not fields"
                        ));
                    }
                    Ok(Operand::Variable(variable))
                }
                _ => Err(
                    "`variables` must be followed by a name, as in variables.direction".to_owned(),
                ),
            };
        }
        let function = match name {
            "name" => Function::Context(ContextField::Name),
            "namespace" => Function::Context(ContextField::Namespace),
            "target" => Function::Context(ContextField::Target),
            "service" => Function::Context(ContextField::Service),
            "ingress" => Function::Context(ContextField::Ingress),
            "route" => Function::Context(ContextField::Route),
            "interval" => Function::Context(ContextField::Interval),
            "printf" => Function::Printf,
            "print" => Function::Print,
            "println" => Function::Println,
            unknown => {
                return Err(format!(
                    "`{unknown}` is not a known template variable (known: {}; functions: {})",
                    TEMPLATE_FUNCTIONS.join(", "),
                    FORMAT_FUNCTIONS.join(", ")
                ));
            }
        };
        if let Some(Token::Field(field)) = self.peek() {
            return Err(format!("`{name}.{field}`: {name} is text, not an object"));
        }
        Ok(Operand::Call(function))
    }
}

pub(super) fn function_name(function: Function) -> &'static str {
    match function {
        Function::Context(field) => match field {
            ContextField::Name => "name",
            ContextField::Namespace => "namespace",
            ContextField::Target => "target",
            ContextField::Service => "service",
            ContextField::Ingress => "ingress",
            ContextField::Route => "route",
            ContextField::Interval => "interval",
        },
        Function::Printf => "printf",
        Function::Print => "print",
        Function::Println => "println",
    }
}

fn number_literal(text: &str) -> Result<Operand, String> {
    let digits = text.replace('_', "");
    if let Ok(value) = digits.parse::<i64>() {
        return Ok(Operand::Integer(value));
    }
    let unsigned = digits.trim_start_matches(['-', '+']);
    if let Some(hex) = unsigned
        .strip_prefix("0x")
        .or_else(|| unsigned.strip_prefix("0X"))
        && let Ok(value) = i64::from_str_radix(hex, 16)
    {
        return Ok(Operand::Integer(if digits.starts_with('-') {
            -value
        } else {
            value
        }));
    }
    if digits.parse::<f64>().is_ok_and(f64::is_finite)
        && !unsigned.starts_with(['i', 'I', 'n', 'N'])
    {
        return Ok(Operand::Float(digits));
    }
    Err(format!("bad number syntax: {text}"))
}
