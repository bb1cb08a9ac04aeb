"""The stand-in's Price List Query API (GetProducts) over HTTP with boto3, as the gate calls it for
a target's price: AWS's answer shape (each product a JSON string with its attributes and on-demand
terms), filters, paging, the refusals of bad input, faults, the call log, IAM (pricing:GetProducts
takes only "*"), and the stand-in's clock in every answer's Date header."""

from __future__ import annotations

import json
import urllib.request
from email.utils import parsedate_to_datetime

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from local import price_list
from local.stack import client

FUNCTION_KEY = "ASIAPRICELISTTEST"
ROLE_ARN = "arn:aws:iam::123456789012:role/gate-role"
PRINCIPAL = "arn:aws:sts::123456789012:assumed-role/gate-role/notebook-gate"


@pytest.fixture(scope="module")
def pricing(standin):
    return client("pricing", standin[0], validate=False)


def control(page: str, method: str, path: str, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(page + path, data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def term(field: str, value: str, kind: str = "TERM_MATCH") -> dict:
    return {"Type": kind, "Field": field, "Value": value}


def products(pricing, *filters, **request) -> list[dict]:
    """Every product GetProducts gives, over all its pages, parsed from its JSON string."""
    found, token = [], None
    for _ in range(100):
        page = pricing.get_products(ServiceCode="AmazonSageMaker", Filters=list(filters), **request,
                                    **({"NextToken": token} if token else {}))
        assert page["FormatVersion"] == "aws_v1"
        assert all(isinstance(item, str) for item in page["PriceList"]), "each product is a JSON string"
        found += [json.loads(item) for item in page["PriceList"]]
        token = page.get("NextToken")
        if not token:
            return found
    raise AssertionError("GetProducts never stopped paging")


def error_of(call, **kwargs) -> dict:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(**kwargs)
    return caught.value.response


def on_demand_usd(product: dict) -> str:
    (offer,) = product["terms"]["OnDemand"].values()
    (dimension,) = offer["priceDimensions"].values()
    assert dimension["unit"] == "Hrs"
    return dimension["pricePerUnit"]["USD"]


def test_an_instance_types_products_in_a_region_have_the_price_lists_shape(pricing):
    found = products(pricing, term("regionCode", "us-east-1"), term("instanceName", "ml.t3.medium"))
    assert sorted(p["product"]["attributes"]["usagetype"] for p in found) == [
        "USE1-Host:ml.t3.medium", "USE1-Notebk:ml.t3.medium", "USE1-Studio:CodeEditor-ml.t3.medium",
        "USE1-Studio:JupyterLab-ml.t3.medium", "USE1-Train:ml.t3.medium"]
    notebook = next(p for p in found if p["product"]["attributes"]["usagetype"].endswith("-Notebk:ml.t3.medium"))
    sku = notebook["product"]["sku"]
    assert notebook["serviceCode"] == "AmazonSageMaker" and notebook["product"]["productFamily"] == "ML Instance"
    assert {k: notebook["product"]["attributes"][k] for k in ("regionCode", "location", "instanceName",
                                                                "servicecode", "component")} == {
        "regionCode": "us-east-1", "location": "US East (N. Virginia)", "instanceName": "ml.t3.medium",
        "servicecode": "AmazonSageMaker", "component": "Notebook"}
    # terms.OnDemand.<sku>.<offer>.priceDimensions.<sku>.<offer>.<rate>, the price a decimal string.
    (offer_code, offer), = notebook["terms"]["OnDemand"].items()
    (rate_code, dimension), = offer["priceDimensions"].items()
    assert offer_code.startswith(f"{sku}.") and rate_code.startswith(f"{offer_code}.")
    assert dimension["pricePerUnit"] == {"USD": "0.0500000000"}
    assert notebook["version"] and notebook["publicationDate"].endswith("Z")
    # The components of one instance type cost differently, so a reader's choice shows.
    assert len({on_demand_usd(p) for p in found}) == len(found)


def test_regions_have_their_own_prefix_location_and_prices(pricing):
    for region, prefix in [("us-east-1", "USE1"), ("eu-west-1", "EU"), ("ap-northeast-1", "APN1")]:
        (notebook,) = products(pricing, term("regionCode", region), term("instanceName", "ml.m5.xlarge"),
                               term("usagetype", f"{prefix}-Notebk:ml.m5.xlarge"))
        assert notebook["product"]["attributes"]["location"] == price_list.REGIONS[region][1]
        assert float(on_demand_usd(notebook)) == price_list.price_per_hour(region, "-Notebk:ml.m5.xlarge")
    assert price_list.price_per_hour("eu-west-1", "-Notebk:ml.m5.xlarge") != \
        price_list.price_per_hour("us-east-1", "-Notebk:ml.m5.xlarge")


def test_tracking_servers_are_priced_by_size(pricing):
    (small,) = products(pricing, term("regionCode", "us-east-1"), term("instanceName", "TrackingServer-Small"))
    assert small["product"]["attributes"]["usagetype"] == "USE1-MLflow:TrackingServer-Small"
    assert on_demand_usd(small) == "0.6420000000"


def test_filters_of_each_type_and_the_service_code_field(pricing):
    region = term("regionCode", "us-east-1")
    assert products(pricing, region, term("instanceName", "ml.p5.48xlarge")) == []
    assert products(pricing, region, term("noSuchAttribute", "x")) == []
    assert len(products(pricing, region, term("instanceName", "ml.t3.medium", "EQUALS"))) == 5
    studio = products(pricing, region, term("usagetype", "Studio:", "CONTAINS"))
    assert studio and all("-Studio:" in p["product"]["attributes"]["usagetype"] for p in studio)
    two = products(pricing, region, term("instanceName", "ml.t3.medium,ml.g5.xlarge", "ANY_OF"),
                   term("component", "Notebook"))
    assert sorted(p["product"]["attributes"]["instanceName"] for p in two) == ["ml.g5.xlarge", "ml.t3.medium"]
    rest = products(pricing, region, term("component", "Notebook"), term("instanceName", "ml.t3.medium", "NONE_OF"))
    assert rest and "ml.t3.medium" not in {p["product"]["attributes"]["instanceName"] for p in rest}
    assert len(products(pricing, region, term("ServiceCode", "AmazonSageMaker"), term("component", "MLflow"))) == 3


def test_pages_give_every_product_once(pricing):
    everything = products(pricing)
    paged = products(pricing, MaxResults=7)
    assert len(everything) > 7 * 3
    assert [p["product"]["sku"] for p in paged] == [p["product"]["sku"] for p in everything]
    assert len({p["product"]["sku"] for p in everything}) == len(everything)


def test_bad_input_is_refused_as_the_service_refuses_it(pricing):
    def refused(**request) -> tuple[int, str]:
        response = error_of(pricing.get_products, **request)
        return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]

    assert refused(Filters=[term("regionCode", "us-east-1")]) == (400, "ValidationException")
    assert refused(ServiceCode="AmazonSageMaker", Filters=[term("regionCode", "us-east-1", "LIKE")]) == \
        (400, "ValidationException")
    assert refused(ServiceCode="AmazonSageMaker", Filters=[{"Type": "TERM_MATCH", "Field": "regionCode"}]) == \
        (400, "InvalidParameterException")
    for bad in (0, 101):
        assert refused(ServiceCode="AmazonSageMaker", MaxResults=bad) == (400, "ValidationException")
    assert refused(ServiceCode="AmazonSageMaker", FormatVersion="aws_v2") == (400, "InvalidParameterException")
    assert refused(ServiceCode="AmazonSageMaker", NextToken="not-a-token") == (400, "InvalidNextTokenException")
    # A token is good only for the query it was given for.
    token = pricing.get_products(ServiceCode="AmazonSageMaker", MaxResults=1)["NextToken"]
    assert refused(ServiceCode="AmazonSageMaker", MaxResults=1, NextToken=token,
                   Filters=[term("regionCode", "eu-west-1")]) == (400, "InvalidNextTokenException")
    assert refused(ServiceCode="AmazonNoSuchService") == (400, "NotFoundException")


def test_get_products_is_faulted_logged_and_dated_by_the_stand_ins_clock(pricing, standin):
    page = standin[1]
    control(page, "DELETE", "/_calls")
    control(page, "POST", "/_faults", {"operation": "GetProducts", "fault": "error", "count": 1})
    response = error_of(pricing.get_products, ServiceCode="AmazonSageMaker")
    assert (response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]) == \
        (500, "InternalErrorException")
    control(page, "POST", "/_faults", {"operation": "GetProducts", "fault": "throttle", "count": 1})
    assert error_of(pricing.get_products, ServiceCode="AmazonSageMaker")["Error"]["Code"] == "ThrottlingException"
    answer = pricing.get_products(ServiceCode="AmazonSageMaker", Filters=[term("regionCode", "us-east-1")],
                                  MaxResults=1)
    calls = control(page, "GET", "/_calls")
    assert [(c["service"], c["operation"]) for c in calls] == [("pricing", "GetProducts")] * 3
    assert calls[-1]["input"] == {"ServiceCode": "AmazonSageMaker", "Filters": [term("regionCode", "us-east-1")],
                                  "MaxResults": 1}

    # The Date header is the stand-in's clock, which /_clock moves: a day on, the answers say so.
    before = parsedate_to_datetime(answer["ResponseMetadata"]["HTTPHeaders"]["date"])
    control(page, "POST", "/_clock", {"advance": 86_400})
    after = parsedate_to_datetime(pricing.get_products(ServiceCode="AmazonSageMaker", MaxResults=1)
                                  ["ResponseMetadata"]["HTTPHeaders"]["date"])
    control(page, "POST", "/_clock", {"advance": -86_400})
    assert 86_400 <= (after - before).total_seconds() < 86_400 + 30


def function_pricing(endpoint: str):
    """A Price List client signing with the function's key, as the function's SDK does."""
    return boto3.client("pricing", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=FUNCTION_KEY,
                        aws_secret_access_key="x", aws_session_token="y",
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def set_iam(page: str, *statements):
    return control(page, "POST", "/_iam", {
        "accessKeyId": FUNCTION_KEY, "roleArn": ROLE_ARN, "source": {"ip": "10.1.1.1"},
        "policies": [{"name": "gate", "policy": {"Version": "2012-10-17", "Statement": list(statements)}}]})


def test_iam_grants_get_products_only_on_star(standin, pricing):
    page = standin[1]
    fn = function_pricing(standin[0])
    try:
        set_iam(page, {"Effect": "Allow", "Action": "sagemaker:ListNotebookInstances", "Resource": "*"})
        response = error_of(fn.get_products, ServiceCode="AmazonSageMaker", MaxResults=1)
        assert response["Error"] == {"Code": "AccessDeniedException", "Message": (
            f"User: {PRINCIPAL} is not authorized to perform: pricing:GetProducts "
            "because no identity-based policy allows the pricing:GetProducts action")}
        # The action has no resource type: an ARN grants nothing.
        set_iam(page, {"Effect": "Allow", "Action": "pricing:GetProducts",
                       "Resource": "arn:aws:pricing:us-east-1:123456789012:product/*"})
        assert error_of(fn.get_products, ServiceCode="AmazonSageMaker")["Error"]["Code"] == "AccessDeniedException"
        set_iam(page, {"Effect": "Allow", "Action": "pricing:GetProducts", "Resource": "*"})
        assert len(fn.get_products(ServiceCode="AmazonSageMaker", MaxResults=2)["PriceList"]) == 2
        # The admin's own key is never evaluated.
        set_iam(page, {"Effect": "Deny", "Action": "pricing:*", "Resource": "*"})
        assert pricing.get_products(ServiceCode="AmazonSageMaker", MaxResults=1)["PriceList"]
        calls = [c for c in control(page, "GET", "/_calls") if c["service"] == "pricing"]
        assert [c.get("iam") for c in calls[-4:]] == ["denied", "denied", "allowed", None]
    finally:
        control(page, "DELETE", "/_iam")
