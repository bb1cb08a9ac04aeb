//! The Resource Groups Tagging API's `GetResources`: the resources whose tag has one of some
//! values, found in one paged call instead of one `ListTags` per resource in the account.
//!
//! Only `/targets` starts from it. The Tagging API's index is eventually consistent, so a tag
//! change may take a while to show there; every open, start and stop keeps its own authoritative
//! `Describe*` and `ListTags` (docs/routes.md, "How fresh the list is").

use aws_sdk_resourcegroupstagging::types::TagFilter;
use futures_util::future::BoxFuture;

use crate::caller::Tag;
use crate::calls::ArnParts;
use crate::clock::AwsClock;
use crate::error::GateError;
use crate::sagemaker::{MAX_PAGES, classify, timeouts};

/// The most values one tag filter may hold (the API's limit): more groups take more calls.
pub(crate) const VALUES_PER_FILTER: usize = 20;
/// The most resources one `GetResources` page may hold (the API's limit).
const RESOURCES_PER_PAGE: i32 = 100;

/// What one `GetResources` asks for: resources of these types (`service:type`, as in their ARNs)
/// whose tag `key` holds one of `values` (1 to `VALUES_PER_FILTER` of them), or any value when
/// `values` is empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagQuery {
    pub resource_types: Vec<&'static str>,
    pub key: String,
    pub values: Vec<String>,
}

/// One resource the index holds, with every tag it had when the index last saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tagged {
    pub arn: String,
    pub tags: Vec<Tag>,
}

/// `GetResources`, every page of it. Object-safe (a boxed future) so that the gate holds the
/// client beside its SageMaker client without one more type parameter on every route's steps.
pub trait Tagging: Send + Sync {
    fn find<'a>(&'a self, query: &'a TagQuery) -> BoxFuture<'a, Result<Vec<Tagged>, GateError>>;
}

impl Tagging for aws_sdk_resourcegroupstagging::Client {
    fn find<'a>(&'a self, query: &'a TagQuery) -> BoxFuture<'a, Result<Vec<Tagged>, GateError>> {
        Box::pin(async move {
            let filter = TagFilter::builder()
                .key(&query.key)
                // No values: the key with any value (the sweep's query).
                .set_values((!query.values.is_empty()).then(|| query.values.clone()))
                .build();
            let mut pages = self
                .get_resources()
                .set_resource_type_filters(Some(
                    query
                        .resource_types
                        .iter()
                        .map(|t| (*t).to_owned())
                        .collect(),
                ))
                .tag_filters(filter)
                .resources_per_page(RESOURCES_PER_PAGE)
                .into_paginator()
                .send();
            let mut found = Vec::new();
            for _ in 0..MAX_PAGES {
                let Some(page) = pages.next().await else {
                    break;
                };
                let page = page.map_err(|e| classify("GetResources", e))?;
                found.extend(
                    page.resource_tag_mapping_list()
                        .iter()
                        .filter_map(|mapping| {
                            Some(Tagged {
                                arn: mapping.resource_arn()?.to_owned(),
                                tags: mapping
                                    .tags()
                                    .iter()
                                    .map(|t| Tag::new(t.key(), t.value()))
                                    .collect(),
                            })
                        }),
                );
            }
            Ok(found)
        })
    }
}

/// The Tagging API client with the gate's timeouts, at its own endpoint: `sdk_config` carries
/// SageMaker's, so the endpoint is set here whether or not one is configured for this service.
pub fn client(
    sdk_config: &aws_config::SdkConfig,
    endpoint_url: Option<String>,
    clock: &AwsClock,
) -> aws_sdk_resourcegroupstagging::Client {
    let mut config = aws_sdk_resourcegroupstagging::config::Builder::from(sdk_config)
        .timeout_config(timeouts())
        .interceptor(clock.interceptor());
    config.set_endpoint_url(endpoint_url);
    aws_sdk_resourcegroupstagging::Client::from_conf(config.build())
}

/// The kind of SageMaker resource an ARN names, and its name (`notebook-instance/<name>`).
pub(crate) fn sagemaker_resource(arn: &str) -> Option<(&str, &str)> {
    let arn = ArnParts::parse(arn).filter(|a| a.service == "sagemaker")?;
    arn.resource.split_once('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arn_names_its_kind_and_resource() {
        let arn = "arn:aws:sagemaker:eu-west-1:123456789012:notebook-instance/alice-analysis";
        assert_eq!(
            sagemaker_resource(arn),
            Some(("notebook-instance", "alice-analysis"))
        );
        let app = "arn:aws-cn:sagemaker:cn-north-1:123456789012:mlflow-app/app-123";
        assert_eq!(sagemaker_resource(app), Some(("mlflow-app", "app-123")));
        for not_ours in [
            "arn:aws:s3:::bucket/key",
            "arn:aws:sagemaker:eu-west-1:123456789012",
            "arn:aws:sagemaker:eu-west-1:123456789012:notebook-instance",
            "notebook-instance/alice",
        ] {
            assert_eq!(sagemaker_resource(not_ours), None, "{not_ours}");
        }
    }
}
