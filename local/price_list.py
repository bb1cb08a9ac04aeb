"""The AWS Price List Query API's GetProducts for the local stack, over a small table of SageMaker
prices: what the gate reads to show a target's price per hour.

The SDK posts to the endpoint root (JSON 1.1, `X-Amz-Target: AWSPriceListService.GetProducts`,
SigV4 name `pricing`); the stand-in's front (local/sagemaker_standin.py) logs, faults and
authorizes the call (`pricing:GetProducts`, resource "*") and hands the input to `get_products`.

The answer has AWS's shape (API_pricing_GetProducts): `{"FormatVersion": "aws_v1", "PriceList":
[<one product as a JSON string>, ...], "NextToken"?}`, each product as the Price List publishes
one: `product` (`productFamily`, `attributes` with `regionCode`, `location`, `instanceName`,
`usagetype`, `servicecode`, `component`, ..., and `sku`), `serviceCode`, `terms.OnDemand` (one
offer with one price dimension: unit `Hrs`, `pricePerUnit.USD` a decimal string such as
"0.0500000000"), `version`, `publicationDate`. Filters: every one must hold (TERM_MATCH and EQUALS
an attribute equal to the value, CONTAINS a substring, ANY_OF / NONE_OF a comma-separated list);
the field is an attribute name, or `productFamily`, `sku` or `ServiceCode`. Bad input is refused
as the service refuses it: a missing ServiceCode, a filter type outside the enum or MaxResults
outside 1-100 is a ValidationException (the model's constraints), a FormatVersion other than
aws_v1 or an incomplete filter an InvalidParameterException, a token it did not give an
InvalidNextTokenException, a service it has no prices for a NotFoundException (the texts are the
stand-in's).

The prices are a stand-in's data, near the published ones but not kept true to them, and each
component of one instance type has its own so a test can tell which product the gate picked (the
real ones are often equal).
"""

from __future__ import annotations

import base64
import hashlib
import json

SERVICE_CODE = "AmazonSageMaker"
FORMAT_VERSION = "aws_v1"
FILTER_TYPES = ("TERM_MATCH", "EQUALS", "CONTAINS", "ANY_OF", "NONE_OF")
MAX_RESULTS = 100  # GetProducts' MaxResults: 1-100, 100 when not given
# The Price List's own codes for an on-demand offer and its hourly rate.
ON_DEMAND_OFFER = "JRTCKXETXF"
HOURLY_RATE = "6YS6EN2CT7"
VERSION, PUBLISHED = "20261101000000", "2026-11-01T00:00:00Z"

# Region code -> (usage type prefix, location name), as the Price List spells them.
REGIONS = {
    "us-east-1": ("USE1", "US East (N. Virginia)"),
    "eu-west-1": ("EU", "EU (Ireland)"),
    "ap-northeast-1": ("APN1", "Asia Pacific (Tokyo)"),
}
# How a region's price compares with us-east-1's (the table below).
REGION_FACTOR = {"us-east-1": 1.0, "eu-west-1": 1.1, "ap-northeast-1": 1.3}

# What a SageMaker instance type costs an hour in us-east-1 (USD), per component: the component
# attribute, and how the component's usage type names the instance (`{type}`).
COMPONENTS = {
    # component attribute: usage type after the region prefix
    "Notebook": "Notebk:{type}",
    "Training": "Train:{type}",
    "Hosting": "Host:{type}",
    "Studio JupyterLab": "Studio:JupyterLab-{type}",
    "Studio CodeEditor": "Studio:CodeEditor-{type}",
}
PRICES = {
    # instance type: (notebook, training, hosting, Studio JupyterLab, Studio Code Editor)
    "ml.t3.medium": (0.05, 0.0625, 0.056, 0.0464, 0.0473),
    "ml.m5.xlarge": (0.23, 0.2688, 0.269, 0.2304, 0.2311),
    "ml.g5.xlarge": (1.408, 1.6128, 1.61, 1.4084, 1.4096),
}
# MLflow tracking servers are priced by size, as instanceName `TrackingServer-<Size>`.
TRACKING_SERVER_PRICES = {"Small": 0.642, "Medium": 1.284, "Large": 2.567}


class PriceListError(Exception):
    """A refusal as the Price List API gives it: its error code and message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _sku(usagetype: str, region: str) -> str:
    digest = hashlib.sha256(f"{region}/{usagetype}".encode()).digest()
    return base64.b32encode(digest).decode()[:16]


def _product(region: str, family: str, instance_name: str, usagetype: str, component: str, price: float) -> dict:
    """One product as the Price List publishes it."""
    prefix, location = REGIONS[region]
    usagetype = f"{prefix}-{usagetype}"
    sku = _sku(usagetype, region)
    offer, rate = f"{sku}.{ON_DEMAND_OFFER}", f"{sku}.{ON_DEMAND_OFFER}.{HOURLY_RATE}"
    usd = f"{price:.10f}"
    return {
        "product": {
            "productFamily": family,
            "attributes": {
                "regionCode": region, "location": location, "locationType": "AWS Region",
                "instanceName": instance_name, "usagetype": usagetype, "operation": "RunInstance",
                "servicecode": SERVICE_CODE, "servicename": "Amazon SageMaker", "component": component,
            },
            "sku": sku,
        },
        "serviceCode": SERVICE_CODE,
        "terms": {"OnDemand": {offer: {
            "priceDimensions": {rate: {
                "unit": "Hrs", "endRange": "Inf", "beginRange": "0", "appliesTo": [], "rateCode": rate,
                "description": f"${float(usd):g} per {instance_name} hour in {location} for {component}",
                "pricePerUnit": {"USD": usd},
            }},
            "sku": sku, "effectiveDate": PUBLISHED, "offerTermCode": ON_DEMAND_OFFER, "termAttributes": {},
        }}},
        "version": VERSION,
        "publicationDate": PUBLISHED,
    }


def products() -> list[dict]:
    """Every product the stand-in sells, in a fixed order."""
    found = []
    for region, factor in REGION_FACTOR.items():
        for instance_type, prices in PRICES.items():
            for (component, usage), price in zip(COMPONENTS.items(), prices):
                found.append(_product(region, "ML Instance", instance_type, usage.format(type=instance_type),
                                      component, round(price * factor, 4)))
        for size, price in TRACKING_SERVER_PRICES.items():
            name = f"TrackingServer-{size}"
            found.append(_product(region, "ML Instance", name, f"MLflow:{name}", "MLflow", round(price * factor, 4)))
    return found


def price_per_hour(region: str, usagetype_suffix: str) -> float:
    """The table's USD price of the product in `region` whose usage type ends with
    `usagetype_suffix` (e.g. "-Notebk:ml.t3.medium"): what a test expects the gate to show."""
    for product in products():
        attributes = product["product"]["attributes"]
        if attributes["regionCode"] == region and attributes["usagetype"].endswith(usagetype_suffix):
            (offer,) = product["terms"]["OnDemand"].values()
            (dimension,) = offer["priceDimensions"].values()
            return float(dimension["pricePerUnit"]["USD"])
    raise KeyError(f"no {usagetype_suffix} in {region}")


def _field(product: dict, field: str) -> str | None:
    if field == "ServiceCode":
        return product["serviceCode"]
    if field in ("productFamily", "sku"):
        return product["product"][field]
    return product["product"]["attributes"].get(field)


def _matches(product: dict, kind: str, field: str, value: str) -> bool:
    have = _field(product, field)
    if have is None:
        return kind == "NONE_OF"
    if kind in ("TERM_MATCH", "EQUALS"):
        return have == value
    if kind == "CONTAINS":
        return value in have
    listed = [v.strip() for v in value.split(",")]
    return (have in listed) == (kind == "ANY_OF")


def _filters(payload: dict) -> list[tuple[str, str, str]]:
    filters = payload.get("Filters") or []
    if not isinstance(filters, list):
        raise PriceListError("ValidationException", "Filters must be a list")
    parsed = []
    for i, item in enumerate(filters, 1):
        if not isinstance(item, dict):
            raise PriceListError("ValidationException", f"Filters.{i} must be a structure")
        kind = item.get("Type")
        if kind not in FILTER_TYPES:
            raise PriceListError("ValidationException", f"1 validation error detected: Value '{kind}' at "
                                 f"'filters.{i}.member.type' failed to satisfy constraint: Member must satisfy "
                                 f"enum value set: [{', '.join(FILTER_TYPES)}]")
        field, value = item.get("Field"), item.get("Value")
        if not isinstance(field, str) or not field or not isinstance(value, str):
            raise PriceListError("InvalidParameterException", f"Filter {i} needs a Field and a Value")
        parsed.append((kind, field, value))
    return parsed


def _token(offset: int, query: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset, "query": query}).encode()).decode()


def _offset(token, query: str) -> int:
    """The offset a NextToken given for this same query carries."""
    if token is None:
        return 0
    try:
        value = json.loads(base64.urlsafe_b64decode(str(token).encode()))
        if value["query"] == query and isinstance(value["offset"], int) and value["offset"] >= 0:
            return value["offset"]
    except (ValueError, KeyError, TypeError):
        pass
    raise PriceListError("InvalidNextTokenException", "The NextToken is not valid for this request")


def get_products(payload: dict) -> dict:
    """GetProducts' answer to `payload` (its input as the SDK sends it)."""
    if not isinstance(payload, dict):
        raise PriceListError("SerializationException", "the request body must be a JSON object")
    service = payload.get("ServiceCode")
    if not isinstance(service, str) or not service:
        raise PriceListError("ValidationException", "1 validation error detected: Value null at 'serviceCode' "
                             "failed to satisfy constraint: Member must not be null")
    version = payload.get("FormatVersion", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise PriceListError("InvalidParameterException", f"FormatVersion {version!r} is not supported "
                             f"(only {FORMAT_VERSION})")
    limit = payload.get("MaxResults", MAX_RESULTS)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_RESULTS:
        raise PriceListError("ValidationException", f"1 validation error detected: Value '{limit}' at "
                             f"'maxResults' failed to satisfy constraint: Member must have value between 1 and "
                             f"{MAX_RESULTS}")
    filters = _filters(payload)
    if service != SERVICE_CODE:
        raise PriceListError("NotFoundException", f"The service code {service} was not found")
    query = hashlib.sha256(json.dumps([service, filters]).encode()).hexdigest()[:16]
    start = _offset(payload.get("NextToken"), query)
    matched = [p for p in products() if all(_matches(p, *f) for f in filters)]
    page = matched[start:start + limit]
    answer = {"FormatVersion": FORMAT_VERSION, "PriceList": [json.dumps(p) for p in page]}
    if start + limit < len(matched):
        answer["NextToken"] = _token(start + limit, query)
    return answer


def answer(payload: dict) -> tuple[str, bytes]:
    """GetProducts over HTTP: (status line, JSON 1.1 body); a refusal is a 400 with its code in
    `__type` (the front adds the x-amzn-ErrorType header)."""
    try:
        return "200 OK", json.dumps(get_products(payload)).encode()
    except PriceListError as error:
        return "400 Bad Request", json.dumps({"__type": error.code, "Message": error.message}).encode()
