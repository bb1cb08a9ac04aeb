//! The Studio domains a deployment serves (`STUDIO_DOMAIN_IDS`), and the one a request chose.

use std::fmt;

use crate::error::{ConfigError, GateError};

/// At most this many domains: `/targets` reads each one at once, and the template grants per
/// domain.
pub const MAX_STUDIO_DOMAINS: usize = 10;

/// A Studio domain id the deployment is configured with. Only `StudioDomains` makes one, so a
/// request can reach SageMaker with no domain but a configured one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DomainId(String);

impl DomainId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DomainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The configured domains, in the configured order (the portal's order), without duplicates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StudioDomains(Vec<DomainId>);

impl StudioDomains {
    /// From `STUDIO_DOMAIN_IDS` (a comma-separated list) or, when that is unset or empty, the
    /// single `STUDIO_DOMAIN_ID` of older deployments. Both set and saying different things is an
    /// error rather than a guess at which one was meant.
    pub(crate) fn from_variables(
        list: Option<&str>,
        single: Option<&str>,
    ) -> Result<Self, ConfigError> {
        const LIST: &str = "STUDIO_DOMAIN_IDS";
        const SINGLE: &str = "STUDIO_DOMAIN_ID";
        let single = single
            .map(|id| {
                if is_domain_id(id) {
                    Ok(DomainId(id.to_owned()))
                } else {
                    Err(ConfigError {
                        variable: SINGLE,
                        problem: "must look like d-xxxxxxxxxxxx".into(),
                    })
                }
            })
            .transpose()?;
        let problem = |problem: String| ConfigError {
            variable: LIST,
            problem,
        };
        let ids: Vec<&str> = list
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if ids.is_empty() {
            return Ok(Self(single.into_iter().collect()));
        }
        if ids.len() > MAX_STUDIO_DOMAINS {
            return Err(problem(format!(
                "lists {} domains; at most {MAX_STUDIO_DOMAINS}",
                ids.len()
            )));
        }
        let mut domains: Vec<DomainId> = Vec::with_capacity(ids.len());
        for id in ids {
            if !is_domain_id(id) {
                return Err(problem(format!(
                    "{id:?} is not a Studio domain id like d-xxxxxxxxxxxx"
                )));
            }
            if domains.iter().any(|d| d.0 == id) {
                return Err(problem(format!("lists {id} twice")));
            }
            domains.push(DomainId(id.to_owned()));
        }
        if let Some(single) = single
            && domains != [single.clone()]
        {
            return Err(problem(format!(
                "{SINGLE} ({single}) is also set and differs; set only {LIST}"
            )));
        }
        Ok(Self(domains))
    }

    pub fn ids(&self) -> &[DomainId] {
        &self.0
    }

    /// The domain a request asked for with its `domain` parameter. With one domain configured the
    /// parameter may be left out; with several it may not (400 naming it), and a malformed one is
    /// 400. `None` is a well-formed domain this deployment does not serve (or no domain at all):
    /// the caller gets what a missing profile gets, and SageMaker is not asked.
    pub fn choose(&self, requested: Option<&str>) -> Result<Option<DomainId>, GateError> {
        match requested {
            None => match self.0.as_slice() {
                [] => Ok(None),
                [only] => Ok(Some(only.clone())),
                _ => Err(GateError::InvalidRequest(
                    "domain is required: several Studio domains are configured \
                     (GET /targets lists yours)"
                        .into(),
                )),
            },
            Some(raw) if !is_domain_id(raw) => Err(GateError::InvalidRequest(
                "domain must be a Studio domain id like d-xxxxxxxxxxxx".into(),
            )),
            Some(raw) => Ok(self.0.iter().find(|d| d.0 == raw).cloned()),
        }
    }
}

/// SageMaker's domain id pattern: `d-(-*[a-z0-9]){1,61}`.
fn is_domain_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("d-") else {
        return false;
    };
    let alnum = rest
        .bytes()
        .filter(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        .count();
    (1..=61).contains(&alnum)
        && rest
            .bytes()
            .all(|b| b == b'-' || b.is_ascii_lowercase() || b.is_ascii_digit())
        && !rest.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domains(list: Option<&str>, single: Option<&str>) -> Result<Vec<String>, ConfigError> {
        StudioDomains::from_variables(list, single)
            .map(|d| d.ids().iter().map(ToString::to_string).collect())
    }

    #[test]
    fn the_list_keeps_its_order_and_the_old_variable_still_works() {
        assert_eq!(
            domains(Some("d-zzz111, d-aaa222 ,d-mmm333"), None).unwrap(),
            ["d-zzz111", "d-aaa222", "d-mmm333"]
        );
        assert_eq!(domains(None, Some("d-old1")).unwrap(), ["d-old1"]);
        // An empty list is unset (CloudFormation's blank parameter): the old variable counts.
        assert_eq!(domains(Some(" , "), Some("d-old1")).unwrap(), ["d-old1"]);
        // Both set and saying the same thing is no conflict.
        assert_eq!(domains(Some("d-old1"), Some("d-old1")).unwrap(), ["d-old1"]);
        assert!(domains(None, None).unwrap().is_empty());
        let ten: Vec<String> = (0..10).map(|i| format!("d-x{i}")).collect();
        assert_eq!(domains(Some(&ten.join(",")), None).unwrap(), ten);
    }

    #[test]
    fn every_bad_list_names_the_variable() {
        let eleven: Vec<String> = (0..11).map(|i| format!("d-x{i}")).collect();
        for bad in [
            "d-abc,domain-1",
            "d-abc,d-UPPER",
            "d-",
            "d-abc-",
            "d-abc;d-def",
            "d-abc,d-abc",
            "d-abc, d-def ,d-abc",
            &eleven.join(","),
        ] {
            let error = domains(Some(bad), None).expect_err(bad);
            assert_eq!(error.variable, "STUDIO_DOMAIN_IDS", "{bad}");
            assert!(error.to_string().contains("STUDIO_DOMAIN_IDS"), "{bad}");
        }
        let twice = domains(Some("d-abc,d-abc"), None).unwrap_err();
        assert!(twice.problem.contains("twice"), "{twice}");
        let many = domains(Some(&eleven.join(",")), None).unwrap_err();
        assert!(many.problem.contains("at most 10"), "{many}");
    }

    #[test]
    fn both_variables_set_and_different_is_an_error_naming_both() {
        for (list, single) in [("d-new1", "d-old1"), ("d-old1,d-new1", "d-old1")] {
            let error = domains(Some(list), Some(single)).unwrap_err();
            let text = error.to_string();
            assert!(
                text.contains("STUDIO_DOMAIN_IDS") && text.contains("STUDIO_DOMAIN_ID "),
                "{text}"
            );
        }
        let error = domains(None, Some("d-UPPER")).unwrap_err();
        assert_eq!(error.variable, "STUDIO_DOMAIN_ID");
    }

    #[test]
    fn a_request_chooses_a_configured_domain_or_gets_an_answer_without_a_call() {
        let one = StudioDomains::from_variables(Some("d-one111"), None).unwrap();
        let two = StudioDomains::from_variables(Some("d-one111,d-two222"), None).unwrap();
        let none = StudioDomains::default();
        let chosen = |d: &StudioDomains, raw| d.choose(raw).map(|c| c.map(|c| c.to_string()));
        assert_eq!(chosen(&one, None).unwrap().as_deref(), Some("d-one111"));
        assert_eq!(
            chosen(&one, Some("d-one111")).unwrap().as_deref(),
            Some("d-one111")
        );
        assert_eq!(
            chosen(&two, Some("d-two222")).unwrap().as_deref(),
            Some("d-two222")
        );
        // Well-formed but not configured: no domain (404), never a SageMaker call.
        assert_eq!(chosen(&two, Some("d-other9")).unwrap(), None);
        assert_eq!(chosen(&none, None).unwrap(), None);
        assert_eq!(chosen(&none, Some("d-one111")).unwrap(), None);
        // Several configured and none chosen: 400 naming the parameter.
        let Err(GateError::InvalidRequest(why)) = two.choose(None) else {
            panic!("several domains need a choice");
        };
        assert!(why.starts_with("domain "), "{why}");
        for bad in [
            "",
            "D-ONE111",
            "one111",
            "d-one111 ",
            "d-one111,d-two222",
            "d-x/y",
        ] {
            assert!(
                matches!(one.choose(Some(bad)), Err(GateError::InvalidRequest(_))),
                "{bad:?}"
            );
        }
    }
}
