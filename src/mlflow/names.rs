//! MLflow's names: a tracking server's, and an MLflow app's id (the last segment of its ARN).

use std::fmt;

use crate::error::GateError;

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
