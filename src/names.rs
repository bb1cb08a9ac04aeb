//! What every SageMaker name the gate passes on must be: each kind of target parses its names
//! (`notebook::NotebookName`, `studio::SpaceName`, ...) into types that can only hold a name
//! SageMaker accepts, built with `resource_name!` where they share SageMaker's common pattern.

/// SageMaker's pattern for notebook instance, user profile and space names,
/// `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`, within their maximum length of 63 (the pattern alone
/// would let hyphens make a name longer).
pub fn is_resource_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// A name type over `is_resource_name`: `resource_name!(/// doc\n Name, "what")`.
macro_rules! resource_name {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// The name, or a 400 that says what a valid one looks like.
            pub fn parse(raw: &str) -> Result<Self, $crate::error::GateError> {
                if $crate::names::is_resource_name(raw) {
                    Ok(Self(raw.to_owned()))
                } else {
                    Err($crate::error::GateError::InvalidRequest(concat!(
                        $what,
                        " must be 1 to 63 letters, digits and inner hyphens"
                    )
                    .into()))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

pub(crate) use resource_name;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_is_sagemakers() {
        for good in ["a", "nb-1", "A--b", &"x".repeat(63)] {
            assert!(is_resource_name(good), "{good}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "a_b",
            "a.b",
            "a%2Fb",
            "..",
            "a b",
            "é",
            &"x".repeat(64),
        ] {
            assert!(!is_resource_name(bad), "{bad}");
        }
    }
}
