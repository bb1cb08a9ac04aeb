//! SageMaker resource names as types that can only hold a name SageMaker accepts: whatever reaches
//! SageMaker as a name has been parsed into one of these first.

use std::fmt;

use crate::error::GateError;

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

macro_rules! resource_name {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// The name, or a 400 that says what a valid one looks like.
            pub fn parse(raw: &str) -> Result<Self, GateError> {
                if is_resource_name(raw) {
                    Ok(Self(raw.to_owned()))
                } else {
                    Err(GateError::InvalidRequest(concat!(
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

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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

resource_name!(
    /// A notebook instance's name.
    NotebookName,
    "notebook instance name"
);
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

/// An MLflow tracking server's name: SageMaker's `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}`, at most
/// 256 characters (the API's length limit; the pattern alone would let hyphens run longer).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TrackingServerName(String);

impl TrackingServerName {
    pub fn parse(raw: &str) -> Result<Self, GateError> {
        let bytes = raw.as_bytes();
        let valid = (1..=256).contains(&bytes.len())
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
            && bytes.last().is_some_and(u8::is_ascii_alphanumeric);
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(GateError::InvalidRequest(
                "tracking server name must be 1 to 256 letters, digits and inner hyphens".into(),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TrackingServerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An MLflow app's id: the last segment of its ARN (`…:mlflow-app/<id>`), 1 to 64 letters, digits
/// and hyphens. Apps are addressed by ARN; the gate builds it from this id, so nothing else in the
/// path can reach an ARN.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MlflowAppId(String);

impl MlflowAppId {
    pub fn parse(raw: &str) -> Result<Self, GateError> {
        let valid = (1..=64).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(GateError::InvalidRequest(
                "MLflow app id must be 1 to 64 letters, digits and hyphens".into(),
            ))
        }
    }

    /// The id an ARN ends in, if it is an MLflow app's ARN with a valid id.
    pub fn from_arn(arn: &str) -> Option<Self> {
        let (_, id) = arn.rsplit_once(":mlflow-app/")?;
        Self::parse(id).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MlflowAppId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn names_follow_sagemaker_pattern() {
        for good in ["a", "nb-1", "A--b", &"x".repeat(63)] {
            assert!(NotebookName::parse(good).is_ok(), "{good}");
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
            // 63 letters and digits, but 64 characters: found by tests/properties.
            &format!("{}-{}", "a".repeat(32), "b".repeat(31)),
        ] {
            assert!(NotebookName::parse(bad).is_err(), "{bad}");
            assert!(SpaceName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_bad_name_says_which_parameter() {
        let Err(GateError::InvalidRequest(why)) = SpaceName::parse("a_b") else {
            panic!("a_b is not a space name")
        };
        assert!(why.starts_with("space must be"), "{why}");
    }

    #[test]
    fn mlflow_names_follow_the_apis_patterns() {
        for good in ["a", "alice-mlflow", "A--b", &"x".repeat(256)] {
            assert!(TrackingServerName::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "-a", "a-", "a_b", "a.b", "a/b", "é", &"x".repeat(257)] {
            assert!(TrackingServerName::parse(bad).is_err(), "{bad}");
        }
        for good in ["app-abc", "-", "A1", &"x".repeat(64)] {
            assert!(MlflowAppId::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "a_b", "a/b", "a.b", "a%2F", &"x".repeat(65)] {
            assert!(MlflowAppId::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            MlflowAppId::from_arn("arn:aws:sagemaker:us-east-1:123456789012:mlflow-app/app-1"),
            Some(MlflowAppId("app-1".into()))
        );
        assert_eq!(
            MlflowAppId::from_arn("arn:aws:sagemaker:us-east-1:1:space/x"),
            None
        );
    }
}
