"""The emulated org's schema and seeded records: Accounts, Contacts, Opportunities (and a few
Users who own them), with the field types of Salesforce's standard objects.

Records are plain dicts keyed by the fields' API names holding Python values (``datetime`` in
UTC, ``date``, ``float`` for currency...); :func:`json_value` and :func:`csv_value` render them
as the REST API and Bulk API 2.0 do. Every seeded record is a pure function of
``(seed, object, index)``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .._fixtures import Dice, salt

__all__ = [
    "FIELD_TYPES",
    "Field",
    "SObject",
    "SCHEMA",
    "csv_value",
    "describe",
    "json_value",
    "make_id",
    "seed_records",
]

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_SOAP = {"id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "int": "xsd:int",
         "double": "xsd:double", "currency": "xsd:double", "percent": "xsd:double",
         "date": "xsd:date", "datetime": "xsd:dateTime"}
#: The field types the emulator knows, and how a SOQL literal must look for each.
FIELD_TYPES = ("id", "reference", "string", "textarea", "picklist", "email", "phone", "url",
               "boolean", "int", "double", "currency", "percent", "date", "datetime")


def make_id(prefix: str, n: int) -> str:
    """An 18-character Salesforce id: key prefix, pod, counter, and the case-safe suffix."""
    digits = ""
    while True:
        n, rest = divmod(n, 62)
        digits = _BASE62[rest] + digits
        if n == 0:
            break
    body = prefix + "5g" + digits.rjust(10, "0")
    suffix = ""
    for chunk in (body[0:5], body[5:10], body[10:15]):
        flags = sum(1 << i for i, ch in enumerate(chunk) if "A" <= ch <= "Z")
        suffix += _SUFFIX[flags]
    return body + suffix


@dataclass(frozen=True)
class Field:
    """One field of an object, as its describe shows it."""

    name: str
    type: str
    label: str = ""
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    external_id: bool = False
    unique: bool = False
    reference_to: tuple[str, ...] = ()
    relationship: str | None = None
    picklist: tuple[str, ...] = ()
    required: bool = False  # must be given on create (not nillable, not defaulted)
    precision: int = 0
    scale: int = 0

    def describe(self) -> dict[str, Any]:
        text = self.type not in _SOAP
        return {
            "aggregatable": True, "autoNumber": False,
            "byteLength": self.length * 3 if text else 0,
            "calculated": False, "caseSensitive": False, "createable": self.createable,
            "custom": self.name.endswith("__c"), "defaultValue": None,
            "defaultedOnCreate": not self.createable and self.type != "id",
            "digits": 0, "externalId": self.external_id,
            "filterable": True, "groupable": self.type not in ("double", "currency",
                                                               "percent", "textarea"),
            "idLookup": self.type == "id" or self.external_id,
            "label": self.label or self.name, "length": self.length if text else 0,
            "name": self.name, "nameField": self.name == "Name", "nillable": self.nillable,
            "picklistValues": [{"active": True, "defaultValue": False, "label": v,
                                "validFor": None, "value": v} for v in self.picklist],
            "precision": self.precision, "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship, "scale": self.scale,
            "soapType": _SOAP.get(self.type, "xsd:string"), "sortable": True,
            "type": self.type, "unique": self.unique, "updateable": self.updateable,
        }


def _audit() -> list[Field]:
    """The system fields every object has."""
    return [
        Field("Id", "id", "Record ID", 18, nillable=False, createable=False, updateable=False),
        Field("IsDeleted", "boolean", "Deleted", nillable=False, createable=False,
              updateable=False),
        Field("OwnerId", "reference", "Owner ID", 18, nillable=False, reference_to=("User",),
              relationship="Owner"),
        Field("CreatedDate", "datetime", "Created Date", nillable=False, createable=False,
              updateable=False),
        Field("LastModifiedDate", "datetime", "Last Modified Date", nillable=False,
              createable=False, updateable=False),
        Field("SystemModstamp", "datetime", "System Modstamp", nillable=False,
              createable=False, updateable=False),
    ]


@dataclass
class SObject:
    """An object's name, key prefix and fields (by lower-cased name)."""

    name: str
    prefix: str
    label: str
    plural: str
    fields: list[Field]
    by_name: dict[str, Field] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_name = {f.name.lower(): f for f in self.fields}

    def field(self, name: str) -> Field | None:
        return self.by_name.get(name.lower())

    def relationship(self, name: str) -> Field | None:
        lowered = name.lower()
        return next((f for f in self.fields if f.relationship
                     and f.relationship.lower() == lowered), None)


_INDUSTRIES = ("Agriculture", "Banking", "Biotechnology", "Consulting", "Education",
               "Electronics", "Energy", "Healthcare", "Manufacturing", "Media", "Retail",
               "Technology", "Telecommunications", "Transportation")
_ACCOUNT_TYPES = ("Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other")
_RATINGS = ("Hot", "Warm", "Cold")
_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
# Stage, probability, closed, won, forecast category (Salesforce's default sales process).
_STAGES = (("Prospecting", 10, False, False, "Pipeline"),
           ("Qualification", 10, False, False, "Pipeline"),
           ("Needs Analysis", 20, False, False, "Pipeline"),
           ("Value Proposition", 50, False, False, "Pipeline"),
           ("Id. Decision Makers", 60, False, False, "Pipeline"),
           ("Perception Analysis", 70, False, False, "Pipeline"),
           ("Proposal/Price Quote", 75, False, False, "Pipeline"),
           ("Negotiation/Review", 90, False, False, "Commit"),
           ("Closed Won", 100, True, True, "Closed"),
           ("Closed Lost", 0, True, False, "Omitted"))
_OPP_TYPES = ("New Customer", "Existing Customer - Upgrade", "Existing Customer - Replacement",
              "Existing Customer - Downgrade")
_TITLES = ("CEO", "CFO", "VP Sales", "Head of Data", "Analyst", "Procurement Manager",
           "Director of Operations", "IT Manager", "Buyer", "Office Manager")

SCHEMA: dict[str, SObject] = {o.name.lower(): o for o in (
    SObject("User", "005", "User", "Users", [
        *_audit()[:1], *_audit()[3:],
        Field("Name", "string", "Full Name", 121, createable=False, updateable=False),
        Field("Email", "email", "Email", 128, nillable=False),
        Field("IsActive", "boolean", "Active", nillable=False),
    ]),
    SObject("Account", "001", "Account", "Accounts", [
        *_audit(),
        Field("Name", "string", "Account Name", 255, nillable=False, required=True),
        Field("Type", "picklist", "Account Type", 255, picklist=_ACCOUNT_TYPES),
        Field("Industry", "picklist", "Industry", 255, picklist=_INDUSTRIES),
        Field("Rating", "picklist", "Account Rating", 255, picklist=_RATINGS),
        Field("AnnualRevenue", "currency", "Annual Revenue", precision=18, scale=0),
        Field("NumberOfEmployees", "int", "Employees"),
        Field("BillingCity", "string", "Billing City", 40),
        Field("BillingCountry", "string", "Billing Country", 80),
        Field("Phone", "phone", "Account Phone", 40),
        Field("Website", "url", "Website", 255),
        Field("Description", "textarea", "Account Description", 32000),
        Field("External_Id__c", "string", "External Id", 40, external_id=True, unique=True),
    ]),
    SObject("Contact", "003", "Contact", "Contacts", [
        *_audit(),
        Field("AccountId", "reference", "Account ID", 18, reference_to=("Account",),
              relationship="Account"),
        Field("FirstName", "string", "First Name", 40),
        Field("LastName", "string", "Last Name", 80, nillable=False, required=True),
        Field("Name", "string", "Full Name", 121, nillable=False, createable=False,
              updateable=False),
        Field("Email", "email", "Email", 80),
        Field("Phone", "phone", "Business Phone", 40),
        Field("Title", "string", "Title", 128),
        Field("LeadSource", "picklist", "Lead Source", 255, picklist=_SOURCES),
        Field("Birthdate", "date", "Birthdate"),
        Field("HasOptedOutOfEmail", "boolean", "Email Opt Out", nillable=False),
        Field("External_Id__c", "string", "External Id", 40, external_id=True, unique=True),
    ]),
    SObject("Opportunity", "006", "Opportunity", "Opportunities", [
        *_audit(),
        Field("AccountId", "reference", "Account ID", 18, reference_to=("Account",),
              relationship="Account"),
        Field("Name", "string", "Name", 120, nillable=False, required=True),
        Field("StageName", "picklist", "Stage", 255, nillable=False, required=True,
              picklist=tuple(s[0] for s in _STAGES)),
        Field("Amount", "currency", "Amount", precision=18, scale=2),
        Field("Probability", "percent", "Probability (%)", precision=3, scale=0),
        Field("CloseDate", "date", "Close Date", nillable=False, required=True),
        Field("Type", "picklist", "Opportunity Type", 255, picklist=_OPP_TYPES),
        Field("LeadSource", "picklist", "Lead Source", 255, picklist=_SOURCES),
        Field("IsClosed", "boolean", "Closed", nillable=False, createable=False,
              updateable=False),
        Field("IsWon", "boolean", "Won", nillable=False, createable=False, updateable=False),
        Field("ForecastCategoryName", "picklist", "Forecast Category", 255,
              picklist=("Pipeline", "Best Case", "Commit", "Omitted", "Closed")),
        Field("Order_Number__c", "string", "Order Number", 40, external_id=True,
              unique=True),
    ]),
)}


def describe(obj: SObject, version: str) -> dict[str, Any]:
    """The ``/sobjects/{name}/describe`` body."""
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    children = [{"cascadeDelete": False, "childSObject": child.name, "field": f.name,
                 "relationshipName": child.plural if child.name != "User" else None}
                for child in SCHEMA.values() for f in child.fields
                if obj.name in f.reference_to and f.name != "OwnerId"]
    return {
        "activateable": False, "childRelationships": children, "createable": True,
        "custom": False, "customSetting": False, "deletable": obj.name != "User",
        "fields": [f.describe() for f in obj.fields], "keyPrefix": obj.prefix,
        "label": obj.label, "labelPlural": obj.plural, "layoutable": True,
        "mergeable": obj.name in ("Account", "Contact"), "name": obj.name,
        "queryable": True, "recordTypeInfos": [], "replicateable": True,
        "retrieveable": True, "searchable": True, "triggerable": True,
        "undeletable": obj.name != "User", "updateable": True,
        "urls": {"compactLayouts": f"{base}/describe/compactLayouts", "rowTemplate":
                 f"{base}/{{ID}}", "describe": f"{base}/describe", "sobject": base},
    }


def json_value(value: Any) -> Any:
    """A field value as REST JSON carries it (``2024-01-15T10:30:00.000+0000``)."""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def csv_value(value: Any) -> str | None:
    """A field value as a Bulk API 2.0 CSV cell (None: an empty, unquoted cell)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# -- seeded records --------------------------------------------------------------------------

_WORDS = ("Blue", "Harbor", "Summit", "Northern", "Trail", "Granite", "Pioneer", "Silver",
          "Cedar", "Atlas", "Beacon", "Crescent", "Evergreen", "Falcon", "Lumen", "Orbit")
_NOUNS = ("Logistics", "Outfitters", "Analytics", "Foods", "Energy", "Health", "Media",
          "Robotics", "Textiles", "Partners", "Systems", "Labs", "Capital", "Studios")
_SUFFIXES = ("Inc.", "LLC", "Ltd.", "GmbH", "S.A.", "Co.", "Group", "plc")
_CITIES = (("San Francisco", "USA"), ("New York", "USA"), ("Austin", "USA"),
           ("London", "United Kingdom"), ("Berlin", "Germany"), ("Paris", "France"),
           ("Toronto", "Canada"), ("Sydney", "Australia"), ("Tokyo", "Japan"))
_FIRST = ("Jenny", "Ana", "Liam", "Noah", "Olivia", "Emma", "Mateo", "Sofia", "Hiro", "Yuki",
          "Lukas", "Marie", "Arjun", "Priya", "Chen", "Mei", "Omar", "Layla", "Grace", "Finn")
_LAST = ("Rosen", "Silva", "Smith", "Johnson", "Garcia", "Müller", "Martin", "Tanaka",
         "O'Brien", "Dubois", "Patel", "Wang", "Nguyen", "Kowalski", "Mensah", "Rossi", "Kim")
_DAY = 86400
_SPAN = 3 * 365 * _DAY


def _stamp(now: int, d: Dice, span: int = _SPAN) -> dt.datetime:
    return dt.datetime.fromtimestamp(now - d.between(3600, span), dt.UTC).replace(
        microsecond=d.below(1000) * 1000)


def _audit_values(obj: str, i: int, d: Dice, now: int, owners: list[str]) -> dict[str, Any]:
    created = _stamp(now, d)
    modified = min(dt.datetime.fromtimestamp(now, dt.UTC),
                   created + dt.timedelta(seconds=d.between(0, 400 * _DAY)))
    return {"Id": make_id(SCHEMA[obj.lower()].prefix, i + 1), "IsDeleted": False,
            "OwnerId": d.pick(owners) if owners else None, "CreatedDate": created,
            "LastModifiedDate": modified, "SystemModstamp": modified}


def seed_records(records: int, seed: int, now: int) -> dict[str, list[dict[str, Any]]]:
    """Every object's seeded records, oldest id first (``records`` Accounts, Contacts and
    Opportunities each; a few are in the recycle bin)."""
    n = max(0, int(records))
    users = []
    for i in range(5):
        d = Dice(salt(seed, "User", i))
        first, last = d.pick(_FIRST), d.pick(_LAST)
        users.append({**_audit_values("User", i, d, now, []), "Name": f"{first} {last}",
                      "Email": f"{first.lower()}.{i}@sandbox-org.example", "IsActive": i < 4})
    owners = [u["Id"] for u in users]
    accounts = []
    for i in range(n):
        d = Dice(salt(seed, "Account", i))
        name = f"{d.pick(_WORDS)} {d.pick(_NOUNS)} {d.pick(_SUFFIXES)}"
        if d.chance(0.04):
            name = f"{d.pick(_LAST)} & Sons {d.pick(_SUFFIXES)}"
        city, country = d.pick(_CITIES)
        accounts.append({
            **_audit_values("Account", i, d, now, owners), "Name": name,
            "Type": d.pick(_ACCOUNT_TYPES), "Industry": d.pick(_INDUSTRIES) if d.chance(0.9)
            else None, "Rating": d.pick(_RATINGS) if d.chance(0.7) else None,
            "AnnualRevenue": float(d.between(2, 5000) * 100_000) if d.chance(0.8) else None,
            "NumberOfEmployees": d.between(3, 90_000) if d.chance(0.85) else None,
            "BillingCity": city, "BillingCountry": country,
            "Phone": f"+1 415 555 {d.between(1000, 9999)}",
            "Website": f"https://www.{name.split()[0].lower().replace(chr(39), '')}.example",
            "Description": None, "External_Id__c": f"ACC-{i + 1:06d}",
            "IsDeleted": d.chance(0.02),
        })
    contacts = []
    for i in range(n):
        d = Dice(salt(seed, "Contact", i))
        first, last = d.pick(_FIRST), d.pick(_LAST)
        account = d.pick(accounts)["Id"] if accounts and d.chance(0.95) else None
        slug = last.lower().replace("'", "").replace("ü", "u")
        contacts.append({
            **_audit_values("Contact", i, d, now, owners), "AccountId": account,
            "FirstName": first, "LastName": last, "Name": f"{first} {last}",
            "Email": f"{first.lower()}.{slug}{i}@example.com" if d.chance(0.9) else None,
            "Phone": f"+1 212 555 {d.between(1000, 9999)}" if d.chance(0.6) else None,
            "Title": d.pick(_TITLES), "LeadSource": d.pick(_SOURCES),
            "Birthdate": dt.date(1950, 1, 1) + dt.timedelta(days=d.between(0, 18_000))
            if d.chance(0.4) else None, "HasOptedOutOfEmail": d.chance(0.1),
            "External_Id__c": f"CON-{i + 1:06d}", "IsDeleted": d.chance(0.02),
        })
    opportunities = []
    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    for i in range(n):
        d = Dice(salt(seed, "Opportunity", i))
        stage, probability, closed, won, forecast = d.pick(_STAGES)
        account = d.pick(accounts) if accounts else None
        audit = _audit_values("Opportunity", i, d, now, owners)
        close = audit["CreatedDate"].date() + dt.timedelta(days=d.between(5, 270))
        if not closed and close < today:
            close = today + dt.timedelta(days=d.between(1, 180))
        amount = round(d.unit() ** 2 * 250_000 + 500, 2) if d.chance(0.95) else None
        opportunities.append({
            **audit, "AccountId": account["Id"] if account else None,
            "Name": f"{account['Name'] if account else 'Direct'} - "
                    f"{d.pick(('Renewal', 'Expansion', 'New Business', 'Pilot', 'Services'))}",
            "StageName": stage, "Amount": amount, "Probability": float(probability),
            "CloseDate": close, "Type": d.pick(_OPP_TYPES), "LeadSource": d.pick(_SOURCES),
            "IsClosed": closed, "IsWon": won, "ForecastCategoryName": forecast,
            "Order_Number__c": f"ORD-{i + 1:07d}", "IsDeleted": d.chance(0.03),
        })
    return {"user": users, "account": accounts, "contact": contacts,
            "opportunity": opportunities}
