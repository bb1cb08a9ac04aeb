//! Studio's names: a user profile's (made from a person's user name) and a space's.

use crate::names::resource_name;

resource_name!(
    /// A Studio space's name.
    SpaceName,
    "space"
);
resource_name!(
    /// A Studio user profile's name.
    ProfileName,
    "profile name"
);

impl ProfileName {
    /// Makes a user name valid as a profile name: every run of other characters becomes one
    /// hyphen, so `jane.doe@example.com` becomes `jane-doe-example-com`.
    pub fn from_user_name(raw: &str) -> Option<Self> {
        let mut name = String::with_capacity(raw.len());
        for c in raw.chars() {
            if c.is_ascii_alphanumeric() {
                name.push(c);
            } else if !name.is_empty() && !name.ends_with('-') {
                name.push('-');
            }
        }
        while name.len() > 63 || name.ends_with('-') {
            name.pop();
        }
        Self::parse(&name).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::GateError;

    fn profile(raw: &str) -> Option<String> {
        ProfileName::from_user_name(raw).map(|p| p.as_str().to_owned())
    }

    #[test]
    fn profile_names_are_made_valid() {
        assert_eq!(
            profile("jane.doe@example.com").as_deref(),
            Some("jane-doe-example-com")
        );
        assert_eq!(profile("..jane__doe..").as_deref(), Some("jane-doe"));
        assert_eq!(profile("日本語"), None);
        assert_eq!(profile("ユーザーbob").as_deref(), Some("bob"));
        let long = profile(&format!("{}.{}", "a".repeat(62), "b".repeat(10))).unwrap();
        assert_eq!(long, "a".repeat(62));
    }

    #[test]
    fn a_bad_name_says_which_parameter() {
        let Err(GateError::InvalidRequest(why)) = SpaceName::parse("a_b") else {
            panic!("a_b is not a space name")
        };
        assert!(why.starts_with("space must be"), "{why}");
    }
}
