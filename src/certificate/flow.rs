//! Enclosures of the flow.
