//! A bound on the work one Liquid render does.
//!
//! The render's output is capped by its writer, but a loop that writes
//! nothing (`{% for i in (1..100000000) %}{% endfor %}`) would still run
//! to its end, and the standard `for` first collects its whole range into
//! memory — a range up to `i64::MAX` would abort the process. Loops are the
//! only repetition a template has (no partials, so no recursion), so
//! counting their iterations bounds the render: `for` and `tablerow` are
//! the standard tags wrapped in [`Budgeted`], which charges a loop's length
//! to the render before the loop (and its range) is built. Over
//! [`MAX_LOOP_ITERATIONS`] in all, nested loops counted for every pass of
//! their parent, the render fails with [`OVER_BUDGET`] in its message.

use std::io::Write;

use liquid_core::model::ValueView;
use liquid_core::parser::{Tag, TryMatchToken};
use liquid_core::{
    BlockReflection, Error, Expression, Language, ParseBlock, Renderable, Result, Runtime,
    TagBlock, TagTokenIter,
};

/// The most loop iterations one render may run, all loops together. An
/// email template loops over a user's metadata, a handful of items; this
/// leaves room for that many times over.
pub const MAX_LOOP_ITERATIONS: i64 = 10_000;

/// The words every over-budget render error starts with.
pub const OVER_BUDGET: &str = "the template does too much work";

/// A standard loop block (`for`, `tablerow`) that charges its length to
/// the render's budget before it runs.
#[derive(Clone, Debug)]
pub struct Budgeted<B>(pub B);

impl<B: ParseBlock + Clone + 'static> ParseBlock for Budgeted<B> {
    fn parse(
        &self,
        arguments: TagTokenIter<'_>,
        block: TagBlock<'_, '_>,
        options: &Language,
    ) -> Result<Box<dyn Renderable>> {
        // The standard parser consumes the arguments, which cannot be
        // copied: keep their text, read the range from it, and give the
        // standard parser the same arguments parsed anew.
        let words: Vec<String> = arguments.map(|t| t.as_str().to_string()).collect();
        let length = match words.get(2) {
            Some(range) => length_expression(range)?,
            None => None,
        };
        let text = format!(
            "{{% {} {} %}}",
            self.0.reflection().start_tag(),
            words.join(" ")
        );
        let inner = self
            .0
            .parse(Tag::new(&text)?.into_tokens(), block, options)?;
        Ok(Box::new(Charged { length, inner }))
    }

    fn reflection(&self) -> &dyn BlockReflection {
        self.0.reflection()
    }
}

/// How a loop's length is found when it is about to run.
#[derive(Debug)]
enum Length {
    /// `(start..stop)`.
    Counted(Expression, Expression),
    /// A variable: an array's items or an object's entries.
    Items(Expression),
}

/// The loop's range as the standard tags read it (a value, else a range);
/// `None` when it is neither, which the standard parser then reports.
fn length_expression(range: &str) -> Result<Option<Length>> {
    let text = format!("{{% range {range} %}}");
    let Some(token) = Tag::new(&text)?.into_tokens().next() else {
        return Ok(None);
    };
    Ok(match token.expect_value() {
        TryMatchToken::Matches(items) => Some(Length::Items(items)),
        TryMatchToken::Fails(token) => match token.expect_range() {
            TryMatchToken::Matches((start, stop)) => Some(Length::Counted(start, stop)),
            TryMatchToken::Fails(_) => None,
        },
    })
}

#[derive(Debug)]
struct Charged {
    length: Option<Length>,
    inner: Box<dyn Renderable>,
}

impl Renderable for Charged {
    fn render_to(&self, writer: &mut dyn Write, runtime: &dyn Runtime) -> Result<()> {
        // Values the standard tag would refuse count as nothing: it
        // reports them itself.
        let n = match &self.length {
            Some(Length::Counted(start, stop)) => {
                let int = |e: &Expression| {
                    e.try_evaluate(runtime)
                        .and_then(|v| v.as_scalar().and_then(|s| s.to_integer()))
                };
                match (int(start), int(stop)) {
                    (Some(a), Some(b)) => b.saturating_sub(a).saturating_add(1).max(0),
                    _ => 0,
                }
            }
            Some(Length::Items(items)) => items.try_evaluate(runtime).map_or(0, |v| {
                v.as_array()
                    .map(|a| a.size())
                    .or_else(|| v.as_object().map(|o| o.size()))
                    .unwrap_or(0)
            }),
            None => 0,
        };
        charge(runtime, n)?;
        self.inner.render_to(writer, runtime)
    }
}

/// Iterations charged so far in this render (a register: one per render,
/// shared by every scope of it).
#[derive(Default)]
struct Spent(i64);

fn charge(runtime: &dyn Runtime, n: i64) -> Result<()> {
    let mut spent = runtime.registers().get_mut::<Spent>();
    spent.0 = spent.0.saturating_add(n);
    if spent.0 > MAX_LOOP_ITERATIONS {
        return Err(Error::with_msg(format!(
            "{OVER_BUDGET}: its loops would run more than {MAX_LOOP_ITERATIONS} times in all"
        )));
    }
    Ok(())
}
