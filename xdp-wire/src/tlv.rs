//! Type-length-value option lists (IPv4 options, NDP options): the iteration both share. A
//! protocol says how long each option is ([`Framing`]); [`Options`] cuts the list into
//! [`Opt`]s by that rule and stops at the first framing error.

use core::marker::PhantomData;

use crate::Error;

/// How a protocol frames its options.
pub trait Framing {
    /// The length in bytes of the option of type `kind` whose length byte (the byte after the
    /// type) is `len`, if the list has one. `None`: the list ends here (the rest is padding).
    /// A length of 0, or one past the end of the list, is a framing error.
    fn len(kind: u8, len: Option<u8>) -> Option<usize>;
}

/// One option as [`Options`] frames it: its type and all its bytes (type and length
/// included; a single byte for one-byte options such as IPv4's NOP).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opt<'a, F> {
    pub kind: u8,
    pub bytes: &'a [u8],
    framing: PhantomData<F>,
}

impl<'a, F> Opt<'a, F> {
    /// An option of type `kind` made of `bytes`.
    pub const fn new(kind: u8, bytes: &'a [u8]) -> Self {
        Opt {
            kind,
            bytes,
            framing: PhantomData,
        }
    }
}

/// The options of a list, framed by `F`. A framing error is yielded once as
/// `Err(Malformed)`, then the iteration ends.
#[derive(Clone, Debug)]
pub struct Options<'a, F> {
    rest: &'a [u8],
    framing: PhantomData<F>,
}

impl<'a, F> Options<'a, F> {
    pub const fn new(options: &'a [u8]) -> Self {
        Options {
            rest: options,
            framing: PhantomData,
        }
    }
}

impl<'a, F: Framing> Iterator for Options<'a, F> {
    type Item = Result<Opt<'a, F>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let (&kind, after) = self.rest.split_first()?;
        let Some(len) = F::len(kind, after.first().copied()) else {
            self.rest = &[];
            return None;
        };
        match self.rest.split_at_checked(len) {
            Some((bytes, rest)) if len > 0 => {
                self.rest = rest;
                Some(Ok(Opt::new(kind, bytes)))
            }
            _ => {
                self.rest = &[];
                Some(Err(Error::Malformed))
            }
        }
    }
}
