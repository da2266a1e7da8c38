//! The Exception stream (`MINIDUMP_EXCEPTION_STREAM` and the context it
//! points at).

use super::encode::{context_bytes, count32, size_of};
use super::layout::{location, Planner};
use crate::error::WriteError;
use crate::model::Exception;
use crate::raw::{
    MINIDUMP_EXCEPTION, MINIDUMP_EXCEPTION_STREAM, MINIDUMP_LOCATION_DESCRIPTOR,
    MINIDUMP_STREAM_TYPE as ST,
};

impl Planner {
    /// The structure, then its context (16-aligned). At most 15 parameters
    /// fit `exception_information`.
    pub(super) fn plan_exception(&mut self, e: &Exception) -> Result<(), WriteError> {
        let m = &mut self.meta;
        m.align(8);
        let off = m.put(
            "MINIDUMP_EXCEPTION_STREAM",
            MINIDUMP_EXCEPTION_STREAM::default(),
        )?;
        let thread_context = match &e.context {
            Some(c) => {
                m.align(16);
                m.location("exception context", &context_bytes(c)?)?
            }
            None => MINIDUMP_LOCATION_DESCRIPTOR::default(),
        };
        let mut information = [0u64; 15];
        if e.parameters.len() > information.len() {
            return Err(WriteError::TooLarge {
                what: "exception parameters",
                value: u64::try_from(e.parameters.len()).unwrap_or(u64::MAX),
                limit: 15,
            });
        }
        for (d, s) in information.iter_mut().zip(&e.parameters) {
            *d = *s;
        }
        let raw = MINIDUMP_EXCEPTION_STREAM {
            thread_id: e.thread_id,
            __align: 0,
            exception_record: MINIDUMP_EXCEPTION {
                exception_code: e.code,
                exception_flags: e.flags,
                exception_record: e.record,
                exception_address: e.address,
                number_parameters: count32("exception parameters", e.parameters.len())?,
                __align: 0,
                exception_information: information,
            },
            thread_context,
        };
        m.put_at("MINIDUMP_EXCEPTION_STREAM", off, raw)?;
        let size = size_of::<MINIDUMP_EXCEPTION_STREAM>();
        self.add_stream(ST::EXCEPTION, location("Exception", off, size)?);
        Ok(())
    }
}
