//! A notebook instance's name.

use crate::names::resource_name;

resource_name!(
    /// A notebook instance's name.
    NotebookName,
    "notebook instance name"
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::GateError;

    #[test]
    fn a_bad_name_says_which_parameter() {
        let Err(GateError::InvalidRequest(why)) = NotebookName::parse("a_b") else {
            panic!("a_b is not a notebook instance name")
        };
        assert!(why.starts_with("notebook instance name must be"), "{why}");
        // 63 letters and digits, but 64 characters: found by tests/properties.
        assert!(NotebookName::parse(&format!("{}-{}", "a".repeat(32), "b".repeat(31))).is_err());
    }
}
