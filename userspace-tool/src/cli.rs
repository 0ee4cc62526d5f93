// SPDX-License-Identifier: GPL-2.0

//! Command-line parsing: global options, the verb table, help texts.
//!
//! `iprpctl [GLOBAL OPTIONS] VERB [VERB ARGUMENTS]`. Global options may also
//! be given after the verb (`iprpctl status -j`). Each verb parses its own
//! arguments from an [`Args`] cursor, using [`Args::common`] for the options
//! every verb accepts.

use crate::error::{Error, Result};
use crate::verbs::{self, Ctx, Verb};

pub const PROG: &str = "iprpctl";

/// A cursor over the remaining command-line arguments.
#[derive(Debug, Clone)]
pub struct Args {
    items: Vec<String>,
    pos: usize,
}

/// What [`Args::common`] did with an argument.
#[derive(Debug, PartialEq, Eq)]
pub enum Common {
    /// A common option, already applied to the context.
    Handled,
    /// `-h`/`--help`: the caller should print its help and stop.
    Help,
    /// Not a common option: the caller handles it.
    Other(String),
}

impl Args {
    pub fn new<I: IntoIterator<Item = String>>(items: I) -> Self {
        Args {
            items: items.into_iter().collect(),
            pos: 0,
        }
    }

    pub fn peek(&self) -> Option<&str> {
        self.items.get(self.pos).map(String::as_str)
    }

    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<String> {
        let a = self.items.get(self.pos).cloned();
        if a.is_some() {
            self.pos += 1;
        }
        a
    }

    /// The value of option `opt` (the next argument), or a usage error.
    pub fn value(&mut self, opt: &str) -> Result<String> {
        self.next()
            .ok_or_else(|| Error::Usage(format!("option '{opt}' needs a value")))
    }

    /// Takes the next argument and applies it if it is an option common to
    /// every verb (`-j`/`--json`, `-h`/`--help`).
    pub fn common(&mut self, ctx: &mut Ctx) -> Option<Common> {
        let a = self.next()?;
        Some(match a.as_str() {
            "-j" | "--json" => {
                ctx.json = true;
                Common::Handled
            }
            "-h" | "--help" => Common::Help,
            _ => Common::Other(a),
        })
    }
}

/// A usage error about argument `arg` of `verb`.
pub fn bad_arg(verb: &str, arg: &str) -> Error {
    if arg.starts_with('-') && arg.len() > 1 {
        Error::Usage(format!("{verb}: unknown option '{arg}'"))
    } else {
        Error::Usage(format!("{verb}: unexpected argument '{arg}'"))
    }
}

/// Consumes a verb's arguments, applying the common options (`-j`, `-h`)
/// wherever they appear, and returns the others in order; `None` after
/// printing the verb's help for `-h`/`--help`.
pub fn verb_tokens(ctx: &mut Ctx, mut args: Args, verb: &Verb) -> Result<Option<Vec<String>>> {
    let mut rest = Vec::new();
    while let Some(c) = args.common(ctx) {
        match c {
            Common::Handled => {}
            Common::Help => {
                crate::output::print(&verb_help(verb))
                    .map_err(|e| Error::Io("stdout".into(), e))?;
                return Ok(None);
            }
            Common::Other(a) => rest.push(a),
        }
    }
    Ok(Some(rest))
}

pub fn version_text() -> String {
    format!(
        "{PROG} {} (iprp generic netlink family \"{}\", version {})\n",
        env!("CARGO_PKG_VERSION"),
        crate::uapi::genl_name(),
        crate::uapi::IPRP_GENL_VERSION
    )
}

pub fn main_help() -> String {
    let mut s = format!(
        "Usage: {PROG} [OPTIONS] VERB [ARGS]\n\
         \n\
         Configure and observe iprp, client-oriented IP-level redirection.\n\
         \n\
         Verbs:\n"
    );
    let w = verbs::VERBS.iter().map(|v| v.name.len()).max().unwrap_or(0);
    for v in verbs::VERBS {
        s.push_str(&format!("  {:w$}  {}\n", v.name, v.summary));
    }
    s.push_str(
        "\n\
         Options:\n  \
           -j, --json     JSON output (one object per invocation)\n  \
           -h, --help     this help; `VERB --help` or `help VERB` for a verb\n  \
           -V, --version  print the version and exit\n\
         \n\
         Exit status: 0 ok, 1 error reported by the kernel (or other failure),\n\
         2 iprp module not loaded, 64 usage error.\n",
    );
    s
}

pub fn verb_help(v: &Verb) -> String {
    format!("Usage: {PROG} {}\n\n{}\n\n{}", v.usage, v.summary, v.help)
}

/// What `main` should do after parsing.
pub enum Action {
    /// Print this text to stdout and exit 0.
    Print(String),
    /// Run a verb.
    Run(&'static Verb, Args),
}

/// Parses global options and picks the verb.
pub fn parse(ctx: &mut Ctx, mut args: Args) -> Result<Action> {
    loop {
        let Some(a) = args.peek() else {
            return Err(Error::Usage("missing verb".into()));
        };
        match a {
            "-V" | "--version" => return Ok(Action::Print(version_text())),
            // Not in --help: for packaging (docs/iprpctl.8).
            "--man" => return Ok(Action::Print(crate::man::page())),
            "-h" | "--help" => return Ok(Action::Print(main_help())),
            "-j" | "--json" => {
                ctx.json = true;
                args.next();
            }
            "help" => {
                args.next();
                return match args.next() {
                    None => Ok(Action::Print(main_help())),
                    Some(v) => match verbs::find(&v) {
                        Some(verb) => Ok(Action::Print(verb_help(verb))),
                        None => Err(Error::Usage(format!("unknown verb '{v}'"))),
                    },
                };
            }
            a if a.starts_with('-') => {
                return Err(Error::Usage(format!("unknown option '{a}'")));
            }
            v => {
                let verb =
                    verbs::find(v).ok_or_else(|| Error::Usage(format!("unknown verb '{v}'")))?;
                args.next();
                return Ok(Action::Run(verb, args));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(a: &[&str]) -> (Ctx, Result<Action>) {
        let mut ctx = Ctx::default();
        let r = parse(&mut ctx, Args::new(a.iter().map(|s| s.to_string())));
        (ctx, r)
    }

    fn usage_msg(r: Result<Action>) -> String {
        match r {
            Err(Error::Usage(m)) => m,
            Err(e) => panic!("expected a usage error, got {e}"),
            Ok(_) => panic!("expected a usage error"),
        }
    }

    #[test]
    fn verbs_and_options() {
        let (ctx, r) = parse_strs(&["-j", "status"]);
        assert!(ctx.json);
        assert!(matches!(r, Ok(Action::Run(v, _)) if v.name == "status"));
        assert!(usage_msg(parse_strs(&["bogus"]).1).contains("'bogus'"));
        assert!(usage_msg(parse_strs(&["--bogus"]).1).contains("'--bogus'"));
        assert!(usage_msg(parse_strs(&[]).1).contains("missing verb"));
        assert!(usage_msg(parse_strs(&["help", "nope"]).1).contains("'nope'"));
        assert!(matches!(parse_strs(&["-V"]).1, Ok(Action::Print(s)) if s.starts_with("iprpctl ")));
        assert!(matches!(parse_strs(&["--help"]).1, Ok(Action::Print(s)) if s.contains("status")));
        assert!(
            matches!(parse_strs(&["help", "status"]).1, Ok(Action::Print(s)) if s.starts_with("Usage: iprpctl status"))
        );
    }

    #[test]
    fn bad_arguments_are_named() {
        assert_eq!(
            bad_arg("status", "--frob").to_string(),
            "status: unknown option '--frob'"
        );
        assert_eq!(
            bad_arg("status", "extra").to_string(),
            "status: unexpected argument 'extra'"
        );
    }
}
