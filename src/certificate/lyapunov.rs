//! Lyapunov functions.
