//! DQL / Grail query API (§10): a supported subset evaluated against the scenario's problems
//! and events, plus canned answers for exact queries.
//!
//! Subset: `fetch <table>[, from:…][, to:…]`, `filter` (`== != < <= > >=`, `and or not`,
//! `in(x, {…})` / `x in {…}`, `isNull`, `isNotNull`, `contains`, `startsWith`, `endsWith`),
//! `fields`, `sort … [asc|desc]`, `limit`, `summarize [alias =] count()[, by:{…}]`.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::{Map, Value, json};

use crate::common::{ApiError, normalize_ws};
use crate::events::EventStore;
use crate::problems;
use crate::scenario::Scenario;
use crate::time::{self, DAY, HOUR, MINUTE, SECOND, WEEK, iso_nanos};

/// A DQL value.
#[derive(Debug, Clone, PartialEq)]
pub enum DVal {
    Null,
    Bool(bool),
    Long(i64),
    Double(f64),
    Str(String),
    /// Epoch milliseconds.
    Ts(i64),
    /// Nanoseconds.
    Dur(i64),
    Arr(Vec<DVal>),
    Rec(Vec<(String, DVal)>),
}

pub type Record = Vec<(String, DVal)>;

impl DVal {
    pub fn to_json(&self) -> Value {
        match self {
            DVal::Null => Value::Null,
            DVal::Bool(b) => json!(b),
            DVal::Long(n) => json!(n.to_string()),
            DVal::Double(f) => json!(f),
            DVal::Str(s) => json!(s),
            DVal::Ts(ms) => json!(iso_nanos(*ms)),
            DVal::Dur(ns) => json!(ns.to_string()),
            DVal::Arr(a) => Value::Array(a.iter().map(DVal::to_json).collect()),
            DVal::Rec(r) => {
                let mut m = Map::new();
                for (k, v) in r {
                    m.insert(k.clone(), v.to_json());
                }
                Value::Object(m)
            }
        }
    }

    pub fn type_json(&self) -> Value {
        match self {
            DVal::Null => json!({"type": "undefined"}),
            DVal::Bool(_) => json!({"type": "boolean"}),
            DVal::Long(_) => json!({"type": "long"}),
            DVal::Double(_) => json!({"type": "double"}),
            DVal::Str(_) => json!({"type": "string"}),
            DVal::Ts(_) => json!({"type": "timestamp"}),
            DVal::Dur(_) => json!({"type": "duration"}),
            DVal::Arr(a) => json!({"type": "array", "types": types_of(
                &a.iter().map(|v| vec![("element".to_string(), v.clone())]).collect::<Vec<_>>())}),
            DVal::Rec(r) => json!({"type": "record", "types": types_of(std::slice::from_ref(r))}),
        }
    }

    /// From canned JSON: integers are longs, `timestamp` strings are timestamps.
    pub fn from_json(v: &Value, key: &str) -> DVal {
        match v {
            Value::Null => DVal::Null,
            Value::Bool(b) => DVal::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => DVal::Long(i),
                None => DVal::Double(n.as_f64().unwrap_or(0.0)),
            },
            Value::String(s) => {
                if key == "timestamp"
                    && let Some(ms) = time::parse_iso(s)
                {
                    return DVal::Ts(ms);
                }
                DVal::Str(s.clone())
            }
            Value::Array(a) => DVal::Arr(a.iter().map(|x| DVal::from_json(x, "element")).collect()),
            Value::Object(o) => DVal::Rec(
                o.iter()
                    .map(|(k, x)| (k.clone(), DVal::from_json(x, k)))
                    .collect(),
            ),
        }
    }

    fn num(&self) -> Option<f64> {
        match self {
            DVal::Long(n) => Some(*n as f64),
            DVal::Double(f) => Some(*f),
            DVal::Ts(ms) => Some(*ms as f64),
            DVal::Dur(ns) => Some(*ns as f64),
            DVal::Str(s) => s.parse().ok(),
            _ => None,
        }
    }

    fn sort_key(&self) -> String {
        match self {
            DVal::Str(s) => s.clone(),
            other => other.to_json().to_string(),
        }
    }
}

/// `types`: consecutive records with the same mappings share an `indexRange`.
pub fn types_of(records: &[Record]) -> Vec<Value> {
    let mut out: Vec<(usize, usize, Value)> = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let mut m = Map::new();
        for (k, v) in r {
            m.insert(k.clone(), v.type_json());
        }
        let m = Value::Object(m);
        match out.last_mut() {
            Some((_, end, last)) if *last == m => *end = i,
            _ => out.push((i, i, m)),
        }
    }
    out.into_iter()
        .map(|(a, b, m)| json!({"indexRange": [a, b], "mappings": m}))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tk {
    Ident(String),
    Quoted(String),
    Str(String),
    Num(f64, bool),
    Dur(i64),
    Sym(&'static str),
}

#[derive(Debug, Clone)]
struct Tok {
    t: Tk,
    line: usize,
    col: usize,
}

/// A DQL error at a position (1-based line and column).
#[derive(Debug, Clone, PartialEq)]
pub struct DqlError {
    pub message: String,
    pub line: usize,
    pub col: usize,
}

const SYMS: &[&str] = &[
    "==", "!=", "<=", ">=", "<", ">", "=", "|", ",", ":", "(", ")", "{", "}", "[", "]", "-", "+",
    "*", "/",
];

fn lex(q: &str) -> Result<Vec<Tok>, DqlError> {
    let chars: Vec<char> = q.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line, mut col) = (0, 1, 1);
    let err = |m: String, line, col| DqlError {
        message: m,
        line,
        col,
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            i += 1;
            line += 1;
            col = 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            col += 1;
            continue;
        }
        let (sl, sc) = (line, col);
        let start = i;
        let t = if c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                if i >= chars.len() {
                    return Err(err("Unterminated string literal.".into(), sl, sc));
                }
                match chars[i] {
                    '"' => {
                        i += 1;
                        break;
                    }
                    '\\' if i + 1 < chars.len() => {
                        s.push(match chars[i + 1] {
                            'n' => '\n',
                            't' => '\t',
                            o => o,
                        });
                        i += 2;
                    }
                    o => {
                        s.push(o);
                        i += 1;
                    }
                }
            }
            Tk::Str(s)
        } else if c == '`' {
            let mut s = String::new();
            i += 1;
            while i < chars.len() && chars[i] != '`' {
                s.push(chars[i]);
                i += 1;
            }
            if i >= chars.len() {
                return Err(err("Unterminated backtick identifier.".into(), sl, sc));
            }
            i += 1;
            Tk::Quoted(s)
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let num: String = chars[start..i].iter().collect();
            let ustart = i;
            while i < chars.len() && chars[i].is_ascii_alphabetic() {
                i += 1;
            }
            let unit: String = chars[ustart..i].iter().collect();
            let n: f64 = num
                .parse()
                .map_err(|_| err(format!("Invalid number '{num}'."), sl, sc))?;
            if unit.is_empty() {
                Tk::Num(n, !num.contains('.'))
            } else {
                let ms = match unit.as_str() {
                    "ns" => n / 1e6,
                    "ms" => n,
                    "s" => n * SECOND as f64,
                    "m" => n * MINUTE as f64,
                    "h" => n * HOUR as f64,
                    "d" => n * DAY as f64,
                    "w" => n * WEEK as f64,
                    _ => return Err(err(format!("Unknown duration unit '{unit}'."), sl, sc)),
                };
                Tk::Dur(ms as i64)
            }
        } else if c.is_alphabetic() || c == '_' || c == '@' {
            while i < chars.len()
                && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '.' | '@'))
            {
                i += 1;
            }
            Tk::Ident(chars[start..i].iter().collect())
        } else {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let sym = SYMS
                .iter()
                .find(|s| rest.starts_with(**s))
                .ok_or_else(|| err(format!("Unexpected character '{c}'."), sl, sc))?;
            i += sym.chars().count();
            Tk::Sym(sym)
        };
        col += i - start;
        out.push(Tok {
            t,
            line: sl,
            col: sc,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Parser

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum Ex {
    Field(String),
    Lit(DVal),
    Cmp(Box<Ex>, Op, Box<Ex>),
    And(Box<Ex>, Box<Ex>),
    Or(Box<Ex>, Box<Ex>),
    Not(Box<Ex>),
    In(Box<Ex>, Vec<Ex>),
    Func(String, Vec<Ex>),
    Arr(Vec<Ex>),
}

#[derive(Debug, Clone, PartialEq)]
enum Cmd {
    Fetch {
        table: String,
        from: Option<i64>,
        to: Option<i64>,
    },
    Filter(Ex),
    Fields(Vec<(String, Ex)>),
    Sort(Vec<(Ex, bool)>),
    Limit(usize),
    Summarize {
        alias: String,
        by: Vec<(String, Ex)>,
    },
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    now: i64,
    end: (usize, usize),
}

impl Parser {
    fn peek(&self) -> Option<&Tk> {
        self.toks.get(self.pos).map(|t| &t.t)
    }
    fn at(&self) -> (usize, usize) {
        self.toks
            .get(self.pos)
            .map(|t| (t.line, t.col))
            .unwrap_or(self.end)
    }
    fn err<T>(&self, m: impl Into<String>) -> Result<T, DqlError> {
        let (line, col) = self.at();
        Err(DqlError {
            message: m.into(),
            line,
            col,
        })
    }
    fn next(&mut self) -> Option<Tk> {
        let t = self.toks.get(self.pos).map(|t| t.t.clone());
        self.pos += 1;
        t
    }
    fn is_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Tk::Sym(x)) if *x == s)
    }
    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tk::Ident(x)) if x == w)
    }
    fn eat_sym(&mut self, s: &str) -> bool {
        if self.is_sym(s) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect_sym(&mut self, s: &str) -> Result<(), DqlError> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            self.err(format!("Expected '{s}'."))
        }
    }
    fn done_cmd(&self) -> bool {
        self.peek().is_none() || self.is_sym("|")
    }

    fn name(&mut self) -> Result<String, DqlError> {
        match self.peek().cloned() {
            Some(Tk::Ident(s)) | Some(Tk::Quoted(s)) => {
                self.pos += 1;
                Ok(s)
            }
            _ => self.err("Expected a field name."),
        }
    }

    fn time_value(&mut self) -> Result<i64, DqlError> {
        if let Some(Tk::Str(s)) = self.peek().cloned() {
            self.pos += 1;
            return match time::parse_iso(&s) {
                Some(t) => Ok(t),
                None => {
                    self.pos -= 1;
                    self.err(format!("Invalid timestamp '{s}'."))
                }
            };
        }
        let mut t;
        if self.is_word("now") {
            self.pos += 1;
            self.expect_sym("(")?;
            self.expect_sym(")")?;
            t = self.now;
        } else {
            t = self.now;
            if !self.is_sym("-") {
                return self.err("Expected now(), a duration like -2h, or a timestamp string.");
            }
        }
        while self.is_sym("-") || self.is_sym("+") {
            let neg = self.is_sym("-");
            self.pos += 1;
            match self.next() {
                Some(Tk::Dur(ms)) => t += if neg { -ms } else { ms },
                _ => {
                    self.pos -= 1;
                    return self.err("Expected a duration like 24h.");
                }
            }
        }
        Ok(t)
    }

    fn command(&mut self, first: bool) -> Result<Cmd, DqlError> {
        let word = match self.peek().cloned() {
            Some(Tk::Ident(w)) => w,
            _ => return self.err("Expected a command."),
        };
        if first && word != "fetch" {
            return self.err(format!(
                "The simulator supports queries starting with 'fetch', not '{word}'."
            ));
        }
        if !first && word == "fetch" {
            return self.err("'fetch' must be the first command.");
        }
        self.pos += 1;
        let cmd = match word.as_str() {
            "fetch" => {
                let table = self.name()?;
                let (mut from, mut to) = (None, None);
                while self.eat_sym(",") {
                    let p = self.name()?;
                    self.expect_sym(":")?;
                    match p.as_str() {
                        "from" => from = Some(self.time_value()?),
                        "to" => to = Some(self.time_value()?),
                        "samplingRatio" | "scanLimitGBytes" | "bucket" => {
                            self.next();
                        }
                        other => return self.err(format!("Unknown fetch parameter '{other}'.")),
                    }
                }
                Cmd::Fetch { table, from, to }
            }
            "filter" => Cmd::Filter(self.expr()?),
            "fields" => {
                let mut list = Vec::new();
                loop {
                    let n = self.name()?;
                    if self.eat_sym("=") {
                        let e = self.expr()?;
                        list.push((n, e));
                    } else {
                        list.push((n.clone(), Ex::Field(n)));
                    }
                    if !self.eat_sym(",") {
                        break;
                    }
                }
                Cmd::Fields(list)
            }
            "sort" => {
                let mut list = Vec::new();
                loop {
                    let e = self.expr()?;
                    let desc = if self.is_word("desc") {
                        self.pos += 1;
                        true
                    } else {
                        if self.is_word("asc") {
                            self.pos += 1;
                        }
                        false
                    };
                    list.push((e, desc));
                    if !self.eat_sym(",") {
                        break;
                    }
                }
                Cmd::Sort(list)
            }
            "limit" => match self.next() {
                Some(Tk::Num(n, true)) if n >= 0.0 => Cmd::Limit(n as usize),
                _ => {
                    self.pos -= 1;
                    return self.err("limit needs a non-negative integer.");
                }
            },
            "summarize" => {
                let mut alias = "count()".to_string();
                let next_is_eq = matches!(
                    self.toks.get(self.pos + 1).map(|t| &t.t),
                    Some(Tk::Sym("="))
                );
                if let (Some(Tk::Ident(a)), true) = (self.peek().cloned(), next_is_eq) {
                    alias = a;
                    self.pos += 2;
                }
                if !self.is_word("count") {
                    return self.err("The simulator supports only count() in summarize.");
                }
                self.pos += 1;
                self.expect_sym("(")?;
                self.expect_sym(")")?;
                let mut by = Vec::new();
                if self.eat_sym(",") {
                    if !self.is_word("by") {
                        return self.err("Expected 'by:'.");
                    }
                    self.pos += 1;
                    self.expect_sym(":")?;
                    let braced = self.eat_sym("{");
                    loop {
                        let n = self.name()?;
                        if self.eat_sym("=") {
                            let e = self.expr()?;
                            by.push((n, e));
                        } else {
                            by.push((n.clone(), Ex::Field(n)));
                        }
                        if !braced || !self.eat_sym(",") {
                            break;
                        }
                    }
                    if braced {
                        self.expect_sym("}")?;
                    }
                }
                Cmd::Summarize { alias, by }
            }
            other => {
                self.pos -= 1;
                return self.err(format!(
                    "The command '{other}' is not supported by the simulator."
                ));
            }
        };
        if !self.done_cmd() {
            return self.err("Unexpected token.");
        }
        Ok(cmd)
    }

    fn expr(&mut self) -> Result<Ex, DqlError> {
        let mut l = self.and_expr()?;
        while self.is_word("or") {
            self.pos += 1;
            let r = self.and_expr()?;
            l = Ex::Or(Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    fn and_expr(&mut self) -> Result<Ex, DqlError> {
        let mut l = self.not_expr()?;
        while self.is_word("and") {
            self.pos += 1;
            let r = self.not_expr()?;
            l = Ex::And(Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    fn not_expr(&mut self) -> Result<Ex, DqlError> {
        if self.is_word("not") {
            self.pos += 1;
            return Ok(Ex::Not(Box::new(self.not_expr()?)));
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<Ex, DqlError> {
        let l = self.operand()?;
        let op = match self.peek() {
            Some(Tk::Sym("==")) => Op::Eq,
            Some(Tk::Sym("!=")) => Op::Ne,
            Some(Tk::Sym("<")) => Op::Lt,
            Some(Tk::Sym("<=")) => Op::Le,
            Some(Tk::Sym(">")) => Op::Gt,
            Some(Tk::Sym(">=")) => Op::Ge,
            Some(Tk::Ident(w)) if w == "in" => {
                self.pos += 1;
                let list = match self.operand()? {
                    Ex::Arr(items) => items,
                    other => vec![other],
                };
                return Ok(Ex::In(Box::new(l), list));
            }
            _ => return Ok(l),
        };
        self.pos += 1;
        let r = self.operand()?;
        Ok(Ex::Cmp(Box::new(l), op, Box::new(r)))
    }

    fn list_until(&mut self, close: &str) -> Result<Vec<Ex>, DqlError> {
        let mut items = Vec::new();
        if self.eat_sym(close) {
            return Ok(items);
        }
        loop {
            items.push(self.expr()?);
            if self.eat_sym(close) {
                return Ok(items);
            }
            self.expect_sym(",")?;
        }
    }

    fn operand(&mut self) -> Result<Ex, DqlError> {
        match self.peek().cloned() {
            Some(Tk::Str(s)) => {
                self.pos += 1;
                Ok(Ex::Lit(DVal::Str(s)))
            }
            Some(Tk::Num(n, int)) => {
                self.pos += 1;
                Ok(Ex::Lit(if int {
                    DVal::Long(n as i64)
                } else {
                    DVal::Double(n)
                }))
            }
            Some(Tk::Dur(ms)) => {
                self.pos += 1;
                Ok(Ex::Lit(DVal::Dur(ms * 1_000_000)))
            }
            Some(Tk::Sym("-")) => {
                self.pos += 1;
                match self.next() {
                    Some(Tk::Num(n, int)) => Ok(Ex::Lit(if int {
                        DVal::Long(-(n as i64))
                    } else {
                        DVal::Double(-n)
                    })),
                    _ => {
                        self.pos -= 1;
                        self.err("Expected a number.")
                    }
                }
            }
            Some(Tk::Sym("(")) => {
                self.pos += 1;
                let e = self.expr()?;
                self.expect_sym(")")?;
                Ok(e)
            }
            Some(Tk::Sym("{")) => {
                self.pos += 1;
                Ok(Ex::Arr(self.list_until("}")?))
            }
            Some(Tk::Sym("[")) => {
                self.pos += 1;
                Ok(Ex::Arr(self.list_until("]")?))
            }
            Some(Tk::Quoted(s)) => {
                self.pos += 1;
                Ok(Ex::Field(s))
            }
            Some(Tk::Ident(w)) => {
                self.pos += 1;
                match w.as_str() {
                    "true" => return Ok(Ex::Lit(DVal::Bool(true))),
                    "false" => return Ok(Ex::Lit(DVal::Bool(false))),
                    "null" => return Ok(Ex::Lit(DVal::Null)),
                    _ => {}
                }
                if !self.is_sym("(") {
                    return Ok(Ex::Field(w));
                }
                let fpos = self.pos - 1;
                self.pos += 1;
                let args = self.list_until(")")?;
                match (w.as_str(), args.len()) {
                    ("count", 0) => Ok(Ex::Field("count()".into())),
                    ("now", 0) => Ok(Ex::Lit(DVal::Ts(self.now))),
                    ("array", _) => Ok(Ex::Arr(args)),
                    ("in", n) if n >= 2 => {
                        let mut it = args.into_iter();
                        let first = it.next().expect("n >= 2");
                        let rest: Vec<Ex> = it.collect();
                        let list = match rest.as_slice() {
                            [Ex::Arr(items)] => items.clone(),
                            _ => rest,
                        };
                        Ok(Ex::In(Box::new(first), list))
                    }
                    ("isNull" | "isNotNull" | "lower" | "upper", 1)
                    | ("contains" | "startsWith" | "endsWith", 2) => Ok(Ex::Func(w, args)),
                    _ => {
                        self.pos = fpos;
                        self.err(format!(
                            "The function '{w}' is not supported by the simulator."
                        ))
                    }
                }
            }
            _ => self.err("Expected an expression."),
        }
    }
}

fn parse(q: &str, now: i64) -> Result<Vec<Cmd>, DqlError> {
    let toks = lex(q)?;
    let lines: Vec<&str> = q.split('\n').collect();
    let end = (
        lines.len(),
        lines.last().map(|l| l.chars().count()).unwrap_or(0) + 1,
    );
    let mut p = Parser {
        toks,
        pos: 0,
        now,
        end,
    };
    let mut cmds = Vec::new();
    loop {
        cmds.push(p.command(cmds.is_empty())?);
        if p.peek().is_none() {
            break;
        }
        p.expect_sym("|")?;
    }
    Ok(cmds)
}

// ---------------------------------------------------------------------------------------------
// Evaluation

fn get<'a>(r: &'a Record, k: &str) -> Option<&'a DVal> {
    r.iter().find(|(n, _)| n == k).map(|(_, v)| v)
}

fn eval(e: &Ex, r: &Record) -> DVal {
    match e {
        Ex::Field(f) => get(r, f).cloned().unwrap_or(DVal::Null),
        Ex::Lit(v) => v.clone(),
        Ex::Arr(items) => DVal::Arr(items.iter().map(|x| eval(x, r)).collect()),
        Ex::And(a, b) => match (eval(a, r), eval(b, r)) {
            (DVal::Bool(x), DVal::Bool(y)) => DVal::Bool(x && y),
            (DVal::Bool(false), _) | (_, DVal::Bool(false)) => DVal::Bool(false),
            _ => DVal::Null,
        },
        Ex::Or(a, b) => match (eval(a, r), eval(b, r)) {
            (DVal::Bool(x), DVal::Bool(y)) => DVal::Bool(x || y),
            (DVal::Bool(true), _) | (_, DVal::Bool(true)) => DVal::Bool(true),
            _ => DVal::Null,
        },
        Ex::Not(a) => match eval(a, r) {
            DVal::Bool(x) => DVal::Bool(!x),
            _ => DVal::Null,
        },
        Ex::Cmp(a, op, b) => compare(&eval(a, r), *op, &eval(b, r)),
        Ex::In(a, list) => {
            let v = eval(a, r);
            if v == DVal::Null {
                return DVal::Null;
            }
            let mut hit = false;
            for x in list {
                match eval(x, r) {
                    DVal::Arr(items) => {
                        hit |= items
                            .iter()
                            .any(|i| compare(&v, Op::Eq, i) == DVal::Bool(true))
                    }
                    other => hit |= compare(&v, Op::Eq, &other) == DVal::Bool(true),
                }
            }
            DVal::Bool(hit)
        }
        Ex::Func(name, args) => {
            let a: Vec<DVal> = args.iter().map(|x| eval(x, r)).collect();
            match (name.as_str(), a.as_slice()) {
                ("isNull", [x]) => DVal::Bool(*x == DVal::Null),
                ("isNotNull", [x]) => DVal::Bool(*x != DVal::Null),
                ("lower", [DVal::Str(s)]) => DVal::Str(s.to_lowercase()),
                ("upper", [DVal::Str(s)]) => DVal::Str(s.to_uppercase()),
                ("contains", [DVal::Str(s), DVal::Str(t)]) => DVal::Bool(s.contains(t.as_str())),
                ("contains", [DVal::Arr(items), x]) => DVal::Bool(items.contains(x)),
                ("startsWith", [DVal::Str(s), DVal::Str(t)]) => {
                    DVal::Bool(s.starts_with(t.as_str()))
                }
                ("endsWith", [DVal::Str(s), DVal::Str(t)]) => DVal::Bool(s.ends_with(t.as_str())),
                _ => DVal::Null,
            }
        }
    }
}

fn compare(a: &DVal, op: Op, b: &DVal) -> DVal {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (a, b) {
        (DVal::Null, _) | (_, DVal::Null) => return DVal::Null,
        (DVal::Str(x), DVal::Str(y)) => Some(x.cmp(y)),
        (DVal::Bool(x), DVal::Bool(y)) => Some(x.cmp(y)),
        (DVal::Ts(x), DVal::Str(s)) | (DVal::Str(s), DVal::Ts(x)) => time::parse_iso(s).map(|y| {
            if matches!(a, DVal::Ts(_)) {
                x.cmp(&y)
            } else {
                y.cmp(x)
            }
        }),
        _ => match (a.num(), b.num()) {
            (Some(x), Some(y)) => x.partial_cmp(&y),
            _ => None,
        },
    };
    let Some(o) = ord else {
        return match op {
            Op::Ne => DVal::Bool(true),
            Op::Eq => DVal::Bool(false),
            _ => DVal::Null,
        };
    };
    DVal::Bool(match op {
        Op::Eq => o == Ordering::Equal,
        Op::Ne => o != Ordering::Equal,
        Op::Lt => o == Ordering::Less,
        Op::Le => o != Ordering::Greater,
        Op::Gt => o == Ordering::Greater,
        Op::Ge => o != Ordering::Less,
    })
}

fn cmp_vals(a: &DVal, b: &DVal) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a, b) {
        (DVal::Null, DVal::Null) => Equal,
        (DVal::Null, _) => Greater,
        (_, DVal::Null) => Less,
        _ => match (a.num(), b.num()) {
            (Some(x), Some(y)) if !matches!((a, b), (DVal::Str(_), DVal::Str(_))) => {
                x.total_cmp(&y)
            }
            _ => a.sort_key().cmp(&b.sort_key()),
        },
    }
}

fn category(severity: &str) -> &str {
    match severity {
        "PERFORMANCE" => "SLOWDOWN",
        other => other,
    }
}

fn problem_record(
    p: &problems::Problem,
    ts: i64,
    status: &str,
    transition: &str,
    closed: bool,
) -> Record {
    let mut r: Record = vec![
        ("timestamp".into(), DVal::Ts(ts)),
        ("event.id".into(), DVal::Str(p.id.clone())),
        ("display_id".into(), DVal::Str(p.def.display_id.clone())),
        ("event.kind".into(), DVal::Str("DAVIS_PROBLEM".into())),
        ("event.name".into(), DVal::Str(p.def.title.clone())),
        ("event.status".into(), DVal::Str(status.into())),
        (
            "event.status_transition".into(),
            DVal::Str(transition.into()),
        ),
        (
            "event.category".into(),
            DVal::Str(category(&p.def.severity).into()),
        ),
        ("event.start".into(), DVal::Ts(p.def.start)),
    ];
    if closed && let Some(end) = p.def.end {
        r.push(("event.end".into(), DVal::Ts(end)));
        r.push((
            "resolved_problem_duration".into(),
            DVal::Dur((end - p.def.start) * 1_000_000),
        ));
    }
    r.push((
        "affected_entity_ids".into(),
        DVal::Arr(p.affected.iter().map(|s| DVal::Str(s.id.clone())).collect()),
    ));
    r.push((
        "affected_entity_types".into(),
        DVal::Arr(
            p.affected
                .iter()
                .map(|_| DVal::Str("dt.entity.service".into()))
                .collect(),
        ),
    ));
    if let Some(rc) = p.root_cause {
        r.push(("root_cause_entity_id".into(), DVal::Str(rc.id.clone())));
    }
    r.push(("dt.davis.is_duplicate".into(), DVal::Bool(p.def.duplicate)));
    r.push(("maintenance.is_under_maintenance".into(), DVal::Bool(false)));
    r
}

fn event_record(e: &crate::events::StoredEvent, now: i64) -> Record {
    let mut r: Record = vec![
        ("timestamp".into(), DVal::Ts(e.start)),
        ("event.id".into(), DVal::Str(e.id.clone())),
        ("event.kind".into(), DVal::Str("DAVIS_EVENT".into())),
        ("event.type".into(), DVal::Str(e.event_type.clone())),
        ("event.name".into(), DVal::Str(e.title.clone())),
        (
            "event.status".into(),
            DVal::Str(if e.is_open(now) { "ACTIVE" } else { "CLOSED" }.into()),
        ),
        ("event.start".into(), DVal::Ts(e.start)),
        ("event.end".into(), DVal::Ts(e.end)),
        (
            "affected_entity_ids".into(),
            DVal::Arr(vec![DVal::Str(e.target.id.clone())]),
        ),
    ];
    if e.target.kind == "SERVICE" {
        r.push(("dt.entity.service".into(), DVal::Str(e.target.id.clone())));
    }
    for (k, v) in &e.properties {
        if !r.iter().any(|(n, _)| n == k) {
            r.push((k.clone(), DVal::Str(v.clone())));
        }
    }
    r
}

/// Records of a table within `[from, to)`, newest first.
fn table(
    sc: &Scenario,
    store: &EventStore,
    name: &str,
    from: i64,
    to: i64,
    now: i64,
) -> Option<Vec<Record>> {
    let in_win = |t: i64| t >= from && t <= to;
    let mut out: Vec<Record> = Vec::new();
    match name {
        "events" => {
            for p in problems::all(sc, now) {
                let closed = !p.is_open(now);
                if in_win(p.def.start) {
                    out.push(problem_record(&p, p.def.start, "ACTIVE", "CREATED", false));
                } else if p.def.start < from && p.def.end.is_none_or(|e| e > from) {
                    out.push(problem_record(&p, from, "ACTIVE", "UPDATED", false));
                }
                if closed {
                    let end = p.def.end.unwrap_or(now);
                    if in_win(end) {
                        out.push(problem_record(&p, end, "CLOSED", "CLOSED", true));
                    }
                }
            }
            for e in &store.events {
                if in_win(e.start) {
                    out.push(event_record(e, now));
                }
            }
        }
        "dt.davis.problems" => {
            for p in problems::all(sc, now) {
                let closed = !p.is_open(now);
                let overlaps =
                    p.def.start < to && (!closed || p.def.end.unwrap_or(i64::MAX) >= from);
                if overlaps {
                    let ts = if closed {
                        p.def.end.unwrap_or(now)
                    } else {
                        p.def.start
                    };
                    let (st, tr) = if closed {
                        ("CLOSED", "CLOSED")
                    } else {
                        ("ACTIVE", "CREATED")
                    };
                    out.push(problem_record(&p, ts, st, tr, closed));
                }
            }
        }
        "dt.davis.events" => {
            for e in &store.events {
                if e.start < to && e.end >= from {
                    out.push(event_record(e, now));
                }
            }
        }
        "dt.entity.service" => {
            for s in &sc.services {
                out.push(vec![
                    ("id".into(), DVal::Str(s.id.clone())),
                    ("entity.name".into(), DVal::Str(s.name.clone())),
                    (
                        "tags".into(),
                        DVal::Arr(s.tags.iter().map(|t| DVal::Str(t.clone())).collect()),
                    ),
                ]);
            }
            return Some(out);
        }
        "logs" | "spans" | "bizevents" | "metrics" | "security.events" | "dt.system.events" => {}
        _ => return None,
    }
    out.sort_by(|a, b| {
        cmp_vals(
            get(b, "timestamp").unwrap_or(&DVal::Null),
            get(a, "timestamp").unwrap_or(&DVal::Null),
        )
    });
    Some(out)
}

/// The scopes a query needs besides `storage:buckets:read`.
pub fn required_scopes(query: &str) -> Vec<String> {
    let mut out = vec!["storage:buckets:read".to_string()];
    let table =
        lex(query).ok().and_then(
            |t| match (t.first().map(|x| &x.t), t.get(1).map(|x| &x.t)) {
                (Some(Tk::Ident(f)), Some(Tk::Ident(tb))) if f == "fetch" => Some(tb.clone()),
                _ => None,
            },
        );
    if let Some(t) = table {
        let area = match t.as_str() {
            "events" | "dt.davis.problems" | "dt.davis.events" | "dt.system.events" => "events",
            "logs" => "logs",
            "spans" => "spans",
            "bizevents" => "bizevents",
            "metrics" => "metrics",
            "security.events" => "security.events",
            x if x.starts_with("dt.entity.") => "entities",
            other => other,
        };
        out.push(format!("storage:{area}:read"));
    }
    out
}

/// 400 PARSE_ERROR with details.
pub fn parse_error(e: &DqlError, query: &str) -> ApiError {
    ApiError::new(400, "PARSE_ERROR").with_details(json!({
        "exceptionType": "DQL-SYNTAX-ERROR",
        "errorType": "PARSE_ERROR",
        "errorMessage": e.message,
        "errorMessageFormat": e.message,
        "errorMessageFormatSpecifierTypes": [],
        "arguments": [],
        "queryString": query,
        "syntaxErrorPosition": {
            "start": {"line": e.line, "column": e.col},
            "end": {"line": e.line, "column": e.col},
        },
        "queryId": "00000000-0000-0000-0000-000000000000",
    }))
}

/// Runs a query: `(result object, simulated duration ms)`.
pub fn run(
    sc: &Scenario,
    store: &EventStore,
    query: &str,
    body: &Value,
    now: i64,
) -> Result<(Value, u64), ApiError> {
    let max = body
        .get("maxResultRecords")
        .and_then(Value::as_u64)
        .unwrap_or(1000) as usize;
    let norm = normalize_ws(query);
    let def_from = body
        .get("defaultTimeframeStart")
        .and_then(Value::as_str)
        .and_then(time::parse_iso)
        .unwrap_or(now - 2 * HOUR);
    let def_to = body
        .get("defaultTimeframeEnd")
        .and_then(Value::as_str)
        .and_then(time::parse_iso)
        .unwrap_or(now);
    if let Some(c) = sc.dql.iter().find(|c| normalize_ws(&c.query) == norm) {
        let records: Vec<Record> = c
            .records
            .iter()
            .map(|r| match r {
                Value::Object(o) => o
                    .iter()
                    .map(|(k, v)| (k.clone(), DVal::from_json(v, k)))
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        let mut result = result_json(query, &records, max, def_from, def_to);
        if let Some(t) = &c.types {
            result["types"] = t.clone();
        }
        return Ok((result, c.duration_ms));
    }
    let cmds = parse(query, now).map_err(|e| parse_error(&e, query))?;
    let Cmd::Fetch {
        table: tname,
        from,
        to,
    } = &cmds[0]
    else {
        unreachable!("parse guarantees fetch first")
    };
    let (from, to) = (from.unwrap_or(def_from), to.unwrap_or(def_to));
    let mut recs = table(sc, store, tname, from, to, now).ok_or_else(|| {
        parse_error(
            &DqlError {
                message: format!("The data object '{tname}' does not exist (simulator tables: events, dt.davis.problems, dt.davis.events, dt.entity.service, logs, spans, bizevents)."),
                line: 1,
                col: 7,
            },
            query,
        )
    })?;
    for cmd in &cmds[1..] {
        match cmd {
            Cmd::Fetch { .. } => {}
            Cmd::Filter(e) => recs.retain(|r| eval(e, r) == DVal::Bool(true)),
            Cmd::Fields(list) => {
                recs = recs
                    .iter()
                    .map(|r| list.iter().map(|(n, e)| (n.clone(), eval(e, r))).collect())
                    .collect();
            }
            Cmd::Sort(keys) => recs.sort_by(|a, b| {
                for (e, desc) in keys {
                    let o = cmp_vals(&eval(e, a), &eval(e, b));
                    let o = if *desc { o.reverse() } else { o };
                    if o != std::cmp::Ordering::Equal {
                        return o;
                    }
                }
                std::cmp::Ordering::Equal
            }),
            Cmd::Limit(n) => recs.truncate(*n),
            Cmd::Summarize { alias, by } => {
                let mut groups: Vec<(Vec<DVal>, i64)> = Vec::new();
                for r in &recs {
                    let key: Vec<DVal> = by.iter().map(|(_, e)| eval(e, r)).collect();
                    match groups.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, n)) => *n += 1,
                        None => groups.push((key, 1)),
                    }
                }
                if by.is_empty() && groups.is_empty() {
                    groups.push((Vec::new(), 0));
                }
                recs = groups
                    .into_iter()
                    .map(|(key, n)| {
                        let mut r: Record =
                            by.iter().map(|(name, _)| name.clone()).zip(key).collect();
                        r.push((alias.clone(), DVal::Long(n)));
                        r
                    })
                    .collect();
            }
        }
    }
    Ok((result_json(query, &recs, max, from, to), 0))
}

fn result_json(query: &str, recs: &[Record], max: usize, from: i64, to: i64) -> Value {
    let truncated = recs.len() > max;
    let recs = &recs[..recs.len().min(max)];
    let mut notifications = Vec::new();
    if truncated {
        notifications.push(json!({
            "severity": "WARNING", "notificationType": "RESULT_TRUNCATED",
            "message": format!("The result has been limited to {max} records."),
        }));
    }
    let records: Vec<Value> = recs
        .iter()
        .map(|r| DVal::Rec(r.clone()).to_json())
        .collect();
    json!({
        "records": records,
        "types": types_of(recs),
        "metadata": {"grail": {
            "canonicalQuery": query,
            "timezone": "Z",
            "query": query,
            "scannedRecords": recs.len(),
            "dqlVersion": "V1_0",
            "scannedBytes": 0,
            "scannedDataPoints": 0,
            "analysisTimeframe": {"start": iso_nanos(from), "end": iso_nanos(to)},
            "locale": "und",
            "executionTimeMilliseconds": 1,
            "notifications": notifications,
            "queryId": "00000000-0000-0000-0000-000000000000",
            "sampled": false,
        }},
    })
}

/// A query that answered 202 and waits to be polled.
#[derive(Debug, Clone)]
pub struct Pending {
    pub result: Value,
    pub done_at: Instant,
    pub running_polls_left: u32,
    pub expires: Instant,
}

/// Asynchronous queries by request token.
#[derive(Debug, Default)]
pub struct DqlState {
    pub queries: HashMap<String, Pending>,
    pub executed: u64,
    pub tokens_issued: u64,
}

pub const TTL_SECONDS: u64 = 399;

pub fn gone() -> ApiError {
    ApiError::new(410, "The request token is unknown or its result is gone.").with_details(json!({
        "errorType": "RESULT_GONE", "errorMessage": "Query result is gone.",
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_794_916_800_000;

    fn sc() -> Scenario {
        crate::scenario_from_json(
            r#"{"now": "2026-11-17T12:00:00Z",
                "services": [{"id": "SERVICE-1", "name": "checkout"}, {"id": "SERVICE-2", "name": "cart"}],
                "problems": [
                  {"display_id": "P-1", "title": "Failure rate increase", "service": "checkout", "start": "2026-11-17T11:00:00Z"},
                  {"display_id": "P-2", "title": "Slow", "service": "cart", "severity": "PERFORMANCE",
                   "start": "2026-11-17T10:00:00Z", "end": "2026-11-17T10:30:00Z"}],
                "dql": [{"match": "fetch logs | summarize count()", "records": [{"count()": "1234"}]}]}"#,
        )
        .unwrap()
    }

    fn q(query: &str) -> Result<Value, ApiError> {
        let sc = sc();
        run(&sc, &EventStore::default(), query, &json!({}), NOW).map(|r| r.0)
    }

    #[test]
    fn problems_and_filters() {
        let r = q(r#"fetch events, from:now()-24h | filter event.kind == "DAVIS_PROBLEM" | filter event.status == "ACTIVE" | fields event.id, display_id, event.name, event.category"#).unwrap();
        let recs = r["records"].as_array().unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0]["display_id"], "P-1");
        assert_eq!(recs[1]["event.category"], "SLOWDOWN");
        assert_eq!(r["types"][0]["mappings"]["event.id"]["type"], "string");
        let r = q(r#"fetch events, from:now()-24h | filter event.kind == "DAVIS_PROBLEM" and event.status_transition == "CLOSED""#).unwrap();
        assert_eq!(r["records"].as_array().unwrap().len(), 1);
        assert_eq!(
            r["records"][0]["event.end"],
            "2026-11-17T10:30:00.000000000Z"
        );
        let r = q(r#"fetch dt.davis.problems | filter in(display_id, {"P-1", "P-9"}) or display_id == "none""#).unwrap();
        assert_eq!(r["records"].as_array().unwrap().len(), 1);
        let r =
            q(r#"fetch events, from:-1d | filter in("SERVICE-2", affected_entity_ids)"#).unwrap();
        assert_eq!(r["records"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn summarize_sort_limit() {
        let r = q("fetch events, from:now()-1d | summarize n = count(), by:{display_id} | sort display_id desc | limit 1").unwrap();
        assert_eq!(r["records"], json!([{"display_id": "P-2", "n": "2"}]));
        assert_eq!(r["types"][0]["mappings"]["n"]["type"], "long");
        let r = q("fetch logs | summarize count()").unwrap();
        assert_eq!(r["records"], json!([{"count()": "1234"}]));
        let r = q("fetch spans | summarize count()").unwrap();
        assert_eq!(r["records"], json!([{"count()": "0"}]));
    }

    #[test]
    fn errors() {
        let e = q("fetch events | makeTimeseries count()").unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(e.message, "PARSE_ERROR");
        let d = e.details.unwrap();
        assert_eq!(d["errorType"], "PARSE_ERROR");
        assert_eq!(d["syntaxErrorPosition"]["start"]["column"], 16);
        assert!(q("timeseries avg(dt.host.cpu.usage)").is_err());
        assert!(q("fetch events | filter a ==").is_err());
        assert!(q("fetch nope").is_err());
        assert!(q(r#"fetch events | filter "x"#).is_err());
        assert_eq!(
            required_scopes("fetch logs"),
            ["storage:buckets:read", "storage:logs:read"]
        );
    }
}
