//! What a running target costs an hour, from AWS's Price List API (`pricing:GetProducts`), never
//! from a table typed here: prices change, and differ by region. Each (kind, instance type) is
//! asked once per process and kept, a definite "no price" too; a failed call is not kept, so the
//! next list asks again. Whatever cannot be read or matched exactly has no price: a portal shows
//! none rather than a wrong one.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use aws_sdk_pricing::types::{Filter, FilterType};
use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::clock::AwsClock;
use crate::error::GateError;
use crate::sagemaker::{MAX_PAGES, classify, timeouts};

/// The Price List's service code for SageMaker.
const SERVICE_CODE: &str = "AmazonSageMaker";

/// What is priced: the thing that runs, as the Price List names its usage.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Priced {
    /// `ml.t3.medium`: usage type `<region prefix>-Notebk:ml.t3.medium`.
    NotebookInstance { instance_type: String },
    /// A Studio space app: `<prefix>-Studio:JupyterLab-ml.t3.medium` (or `CodeEditor-`).
    StudioApp {
        app_type: String,
        instance_type: String,
    },
    /// An MLflow tracking server's size: `<prefix>-MLflow:TrackingServer-Small`.
    TrackingServer { size: String },
}

impl Priced {
    /// The `instanceName` attribute the Price List files it under.
    fn instance_name(&self) -> String {
        match self {
            Self::NotebookInstance { instance_type } | Self::StudioApp { instance_type, .. } => {
                instance_type.clone()
            }
            Self::TrackingServer { size } => format!("TrackingServer-{size}"),
        }
    }

    /// How its product's `usagetype` ends (the region prefix before the `-` differs by region).
    fn usage_type_suffix(&self) -> String {
        match self {
            Self::NotebookInstance { instance_type } => format!("-Notebk:{instance_type}"),
            Self::StudioApp {
                app_type,
                instance_type,
            } => format!("-Studio:{app_type}-{instance_type}"),
            Self::TrackingServer { size } => format!("-MLflow:TrackingServer-{size}"),
        }
    }
}

/// `GetProducts` for SageMaker in one region, one instance name: the products as the Price List
/// gives them (each a JSON document in a string), every page.
pub trait PriceList: Send + Sync {
    fn products<'a>(
        &'a self,
        region: &'a str,
        instance_name: &'a str,
    ) -> BoxFuture<'a, Result<Vec<String>, GateError>>;
}

impl PriceList for aws_sdk_pricing::Client {
    fn products<'a>(
        &'a self,
        region: &'a str,
        instance_name: &'a str,
    ) -> BoxFuture<'a, Result<Vec<String>, GateError>> {
        Box::pin(async move {
            let term = |field: &str, value: &str| {
                Filter::builder()
                    .r#type(FilterType::TermMatch)
                    .field(field)
                    .value(value)
                    .build()
                    .map_err(|e| GateError::Upstream(format!("GetProducts filter: {e}")))
            };
            let mut pages = self
                .get_products()
                .service_code(SERVICE_CODE)
                .filters(term("regionCode", region)?)
                .filters(term("instanceName", instance_name)?)
                .format_version("aws_v1")
                .into_paginator()
                .send();
            let mut products = Vec::new();
            let mut read = 0;
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| classify("GetProducts", e))?;
                products.extend(page.price_list.unwrap_or_default());
                read += 1;
                if read == MAX_PAGES {
                    break;
                }
            }
            Ok(products)
        })
    }
}

/// The Price List client with the gate's timeouts, in the region the Price List answers from;
/// the endpoint override is the SDK's own (`AWS_ENDPOINT_URL_PRICING`, then `AWS_ENDPOINT_URL`).
pub fn client(
    sdk_config: &aws_config::SdkConfig,
    pricing_region: &str,
    endpoint_url: Option<String>,
    clock: &AwsClock,
) -> aws_sdk_pricing::Client {
    let mut config = aws_sdk_pricing::config::Builder::from(sdk_config)
        .timeout_config(timeouts())
        .interceptor(clock.interceptor())
        .region(aws_config::Region::new(pricing_region.to_owned()));
    config.set_endpoint_url(endpoint_url);
    aws_sdk_pricing::Client::from_conf(config.build())
}

/// The hourly on-demand USD price of the one product among `products` whose usage type ends with
/// `suffix`; none when no product, or products with different prices, match, or when its terms
/// hold anything but one hourly USD price.
pub fn hourly_price(products: &[String], suffix: &str) -> Option<f64> {
    let mut prices = products
        .iter()
        .filter_map(|text| serde_json::from_str::<Value>(text).ok())
        .filter(|product| {
            product["product"]["attributes"]["usagetype"]
                .as_str()
                .is_some_and(|usage| usage.ends_with(suffix))
        })
        .map(|product| on_demand_hourly_usd(&product));
    let first = prices.next()??;
    prices.all(|p| p == Some(first)).then_some(first)
}

/// `terms.OnDemand.*.priceDimensions.*`: exactly one dimension, in hours, priced in USD.
fn on_demand_hourly_usd(product: &Value) -> Option<f64> {
    let offers = product["terms"]["OnDemand"].as_object()?;
    let mut dimensions = offers
        .values()
        .filter_map(|offer| offer["priceDimensions"].as_object())
        .flat_map(|dims| dims.values());
    let only = dimensions.next()?;
    if dimensions.next().is_some() || only["unit"].as_str() != Some("Hrs") {
        return None;
    }
    let usd: f64 = only["pricePerUnit"]["USD"].as_str()?.parse().ok()?;
    (usd.is_finite() && usd >= 0.0).then_some(usd)
}

/// The prices the gate has asked for, kept for the process's life.
pub struct Prices {
    list: Option<Box<dyn PriceList>>,
    known: Mutex<HashMap<(String, Priced), Option<f64>>>,
}

impl Prices {
    /// No Price List: nothing is priced (`PRICES=false`, and tests that do not ask).
    pub fn off() -> Self {
        Self {
            list: None,
            known: Mutex::default(),
        }
    }

    pub fn from(list: impl PriceList + 'static) -> Self {
        Self {
            list: Some(Box::new(list)),
            known: Mutex::default(),
        }
    }

    /// The hourly price of `what` in `region`, asked once and kept; none when unknown.
    pub async fn hourly(&self, region: &str, what: &Priced) -> Option<f64> {
        let list = self.list.as_ref()?;
        let key = (region.to_owned(), what.clone());
        if let Some(known) = self.lock().get(&key) {
            return *known;
        }
        match list.products(region, &what.instance_name()).await {
            Ok(products) => {
                let price = hourly_price(&products, &what.usage_type_suffix());
                if price.is_none() {
                    tracing::info!(?what, region, "no single hourly price in the Price List");
                }
                self.lock().insert(key, price);
                price
            }
            Err(error) => {
                tracing::warn!(%error, ?what, "Price List unreadable; no price shown");
                None
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, Priced), Option<f64>>> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What a target has cost since `running_seconds` ago at `per_hour`, to the cent.
pub fn cost_so_far(per_hour: f64, running_seconds: i64) -> f64 {
    let hours = running_seconds.max(0) as f64 / 3600.0;
    (per_hour * hours * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn product(usage: &str, dimensions: Value) -> String {
        json!({
            "product": {"productFamily": "ML Instance", "sku": "SKU1",
                        "attributes": {"usagetype": usage, "regionCode": "us-east-1"}},
            "serviceCode": "AmazonSageMaker",
            "terms": {"OnDemand": {"SKU1.JRTCKXETXF": {"priceDimensions": dimensions}}},
        })
        .to_string()
    }

    fn hourly(usd: &str) -> Value {
        json!({"SKU1.JRTCKXETXF.6YS6EN2CT7": {"unit": "Hrs", "pricePerUnit": {"USD": usd}}})
    }

    #[test]
    fn the_product_whose_usage_type_matches_gives_the_price() {
        let products = vec![
            product("USE1-Train:ml.t3.medium", hourly("0.0600000000")),
            product("USE1-Notebk:ml.t3.medium", hourly("0.0500000000")),
            product(
                "USE1-Studio:JupyterLab-ml.t3.medium",
                hourly("0.0550000000"),
            ),
        ];
        let notebook = Priced::NotebookInstance {
            instance_type: "ml.t3.medium".into(),
        };
        let lab = Priced::StudioApp {
            app_type: "JupyterLab".into(),
            instance_type: "ml.t3.medium".into(),
        };
        assert_eq!(
            hourly_price(&products, &notebook.usage_type_suffix()),
            Some(0.05)
        );
        assert_eq!(
            hourly_price(&products, &lab.usage_type_suffix()),
            Some(0.055)
        );
        let editor = Priced::StudioApp {
            app_type: "CodeEditor".into(),
            instance_type: "ml.t3.medium".into(),
        };
        assert_eq!(hourly_price(&products, &editor.usage_type_suffix()), None);
    }

    #[test]
    fn anything_but_one_clear_hourly_usd_price_is_no_price() {
        let suffix = "-Notebk:ml.t3.medium";
        let two_prices = vec![
            product("USE1-Notebk:ml.t3.medium", hourly("0.05")),
            product("USW2-Notebk:ml.t3.medium", hourly("0.06")),
        ];
        assert_eq!(hourly_price(&two_prices, suffix), None);
        let same_twice = vec![
            product("USE1-Notebk:ml.t3.medium", hourly("0.05")),
            product("USE1-Notebk:ml.t3.medium", hourly("0.05")),
        ];
        assert_eq!(hourly_price(&same_twice, suffix), Some(0.05));
        let per_month = json!({"D": {"unit": "GB-Mo", "pricePerUnit": {"USD": "0.14"}}});
        let in_yuan = json!({"D": {"unit": "Hrs", "pricePerUnit": {"CNY": "0.4"}}});
        let tiered = json!({"A": {"unit": "Hrs", "pricePerUnit": {"USD": "0.05"}},
                            "B": {"unit": "Hrs", "pricePerUnit": {"USD": "0.04"}}});
        for dimensions in [per_month, in_yuan, tiered, json!({})] {
            let products = vec![product("USE1-Notebk:ml.t3.medium", dimensions.clone())];
            assert_eq!(hourly_price(&products, suffix), None, "{dimensions}");
        }
        assert_eq!(hourly_price(&["not json".into()], suffix), None);
        assert_eq!(hourly_price(&[], suffix), None);
    }

    #[test]
    fn cost_so_far_is_rounded_to_the_cent() {
        assert_eq!(cost_so_far(0.05, 3600 * 10), 0.5);
        assert_eq!(cost_so_far(1.234, 1800), 0.62);
        assert_eq!(cost_so_far(0.05, -60), 0.0);
    }

    struct Counting(std::sync::atomic::AtomicU32, Result<Vec<String>, ()>);

    impl PriceList for Counting {
        fn products<'a>(
            &'a self,
            _region: &'a str,
            _instance_name: &'a str,
        ) -> BoxFuture<'a, Result<Vec<String>, GateError>> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let answer = self
                .1
                .clone()
                .map_err(|()| GateError::Upstream("down".into()));
            Box::pin(async move { answer })
        }
    }

    #[tokio::test]
    async fn a_price_is_asked_once_per_region_and_a_failure_is_asked_again() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let what = Priced::NotebookInstance {
            instance_type: "ml.t3.medium".into(),
        };
        let list = std::sync::Arc::new(Counting(
            AtomicU32::new(0),
            Ok(vec![product("USE1-Notebk:ml.t3.medium", hourly("0.05"))]),
        ));
        struct Shared(std::sync::Arc<Counting>);
        impl PriceList for Shared {
            fn products<'a>(
                &'a self,
                region: &'a str,
                name: &'a str,
            ) -> BoxFuture<'a, Result<Vec<String>, GateError>> {
                self.0.products(region, name)
            }
        }
        let prices = Prices::from(Shared(list.clone()));
        assert_eq!(prices.hourly("us-east-1", &what).await, Some(0.05));
        assert_eq!(prices.hourly("us-east-1", &what).await, Some(0.05));
        assert_eq!(list.0.load(Ordering::SeqCst), 1);
        prices.hourly("eu-west-1", &what).await;
        assert_eq!(list.0.load(Ordering::SeqCst), 2);

        let failing = std::sync::Arc::new(Counting(AtomicU32::new(0), Err(())));
        let prices = Prices::from(Shared(failing.clone()));
        assert_eq!(prices.hourly("us-east-1", &what).await, None);
        assert_eq!(prices.hourly("us-east-1", &what).await, None);
        assert_eq!(failing.0.load(Ordering::SeqCst), 2, "a failure is not kept");
        assert_eq!(Prices::off().hourly("us-east-1", &what).await, None);
    }
}
