//! Tenancy and the access table by type, proven by the compiler: code that
//! reads a kommun's rows without its scope, forges a scope, runs the round
//! life cycle without an admin's scope, computes a round's figures without
//! the policy's `Released` witness (or forges one), asks for a kommun's
//! comparison means without its scope, or makes an SKR audience by hand
//! does not build (the expected errors are the
//! `.stderr` files beside each case in `tests/compile-fail/`).

#[test]
fn services_cannot_be_called_without_their_scope() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/compile-fail/*.rs");
}
