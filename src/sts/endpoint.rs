//! Which URL an STS or IAM call goes to, and which region signs it.
//!
//! The order is the AWS CLI's: the command line's `--endpoint-url`, then
//! `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`, then the profile's
//! `services` section, then the profile's `endpoint_url`; all but the first are skipped
//! when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` / `ignore_configured_endpoint_urls` is true.
//! Without any of them the endpoint is AWS's own, by region and partition (every
//! partition botocore knows, from `partitions.json`), regional for STS unless
//! `sts_regional_endpoints = legacy`, global (`sts.amazonaws.com`) without a region.

/// The services awsmfa calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Sts,
    Iam,
}

impl Service {
    /// The SigV4 signing name and the key used in `[services …]` sections.
    pub fn name(self) -> &'static str {
        match self {
            Service::Sts => "sts",
            Service::Iam => "iam",
        }
    }
}

/// Everything that can decide an endpoint, already read from flags, environment and
/// profile (see `config`).
#[derive(Debug, Clone, Default)]
pub struct EndpointInputs {
    pub cli_url: Option<String>,
    pub env_service_url: Option<String>,
    pub env_url: Option<String>,
    pub services_url: Option<String>,
    pub profile_url: Option<String>,
    pub ignore_configured: bool,
    pub region: Option<String>,
    pub sts_regional_endpoints: Option<String>,
}

/// A resolved endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub service: Service,
    pub url: String,
    pub signing_region: String,
    /// Where the URL came from, for `-v` and for error messages.
    pub source: &'static str,
}

/// The AWS partitions as botocore knows them (`scripts/partitions` writes the file from
/// botocore's own data and endpoint rule sets; it names the botocore version).
#[derive(Debug, serde::Deserialize)]
struct Partitions {
    global_sts: String,
    global_sts_signing_region: String,
    legacy_global_sts_regions: Vec<String>,
    partitions: Vec<Partition>,
}

/// One partition: which regions are in it and its STS, IAM, sign-in and console hosts.
#[derive(Debug, serde::Deserialize)]
pub struct Partition {
    pub id: String,
    /// A region `PREFIX-WORD-DIGITS` with one of these prefixes is in the partition
    /// (botocore's `regionRegex`).
    region_prefixes: Vec<String>,
    /// Regions listed by name (they win over the prefixes, as in botocore).
    regions: Vec<String>,
    /// The regional STS URL, `{region}` standing for the region.
    sts: String,
    pub iam: String,
    pub iam_signing_region: String,
    /// The sign-in host (its `/federation` endpoint makes console sign-in tokens).
    pub signin: String,
    pub console: String,
}

impl Partition {
    fn matches(&self, region: &str) -> bool {
        let shape = |rest: &str| {
            rest.split_once('-').is_some_and(|(word, digits)| {
                !word.is_empty()
                    && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !digits.is_empty()
                    && digits.chars().all(|c| c.is_ascii_digit())
            })
        };
        self.region_prefixes.iter().any(|p| {
            region
                .strip_prefix(p.as_str())
                .and_then(|r| r.strip_prefix('-'))
                .is_some_and(shape)
        })
    }
}

fn data() -> &'static Partitions {
    static DATA: std::sync::OnceLock<Partitions> = std::sync::OnceLock::new();
    DATA.get_or_init(|| {
        serde_json::from_str(include_str!("partitions.json"))
            .expect("src/sts/partitions.json is checked by the tests")
    })
}

/// The partition of `region` as botocore finds it: the one that lists the region, else
/// the one whose pattern it matches, else `aws`.
pub fn partition_of(region: &str) -> &'static Partition {
    let all = &data().partitions;
    all.iter()
        .find(|p| p.regions.iter().any(|r| r == region))
        .or_else(|| all.iter().find(|p| p.matches(region)))
        .unwrap_or_else(|| partition_by_id("aws").expect("aws is a partition"))
}

/// The partition named `id` (`aws-cn`, from an ARN), if botocore knows it.
pub fn partition_by_id(id: &str) -> Option<&'static Partition> {
    data().partitions.iter().find(|p| p.id == id)
}

/// The values `sts_regional_endpoints` may have; botocore refuses any other, in any case.
pub const STS_REGIONAL_ENDPOINTS: [&str; 2] = ["legacy", "regional"];

/// Resolves the endpoint for `service`. A region, when given, is not empty (the callers
/// refuse an empty one, as botocore does).
pub fn resolve(service: Service, input: &EndpointInputs) -> Endpoint {
    let region = input.region.as_deref().filter(|r| !r.is_empty());
    let configured: [(&Option<String>, &'static str); 4] = [
        (
            &input.env_service_url,
            match service {
                Service::Sts => "AWS_ENDPOINT_URL_STS",
                Service::Iam => "AWS_ENDPOINT_URL_IAM",
            },
        ),
        (&input.env_url, "AWS_ENDPOINT_URL"),
        (&input.services_url, "the profile's services section"),
        (&input.profile_url, "the profile's endpoint_url"),
    ];
    let chosen = input
        .cli_url
        .as_ref()
        .map(|u| (u, "--endpoint-url"))
        .or_else(|| {
            if input.ignore_configured {
                return None;
            }
            configured
                .iter()
                .find_map(|(value, source)| value.as_ref().map(|u| (u, *source)))
        });
    if let Some((url, source)) = chosen {
        return Endpoint {
            service,
            url: url.trim_end_matches('/').to_string(),
            signing_region: region.unwrap_or("us-east-1").to_string(),
            source,
        };
    }
    let data = data();
    match service {
        Service::Sts => {
            let legacy = input.sts_regional_endpoints.as_deref() == Some("legacy");
            let global = |source| Endpoint {
                service,
                url: data.global_sts.clone(),
                signing_region: data.global_sts_signing_region.clone(),
                source,
            };
            match region {
                // botocore: no region is `aws-global`, the global endpoint.
                None => global("AWS's global STS endpoint (no region is set)"),
                Some("aws-global") => global("AWS's global STS endpoint (region aws-global)"),
                Some(r) if legacy && data.legacy_global_sts_regions.iter().any(|g| g == r) => {
                    global("AWS's global STS endpoint (sts_regional_endpoints = legacy)")
                }
                Some(r) => Endpoint {
                    service,
                    url: partition_of(r).sts.replace("{region}", r),
                    signing_region: r.to_string(),
                    source: "AWS's regional STS endpoint",
                },
            }
        }
        Service::Iam => {
            let p = partition_of(region.unwrap_or("aws-global"));
            Endpoint {
                service,
                url: p.iam.clone(),
                signing_region: p.iam_signing_region.clone(),
                source: "AWS's IAM endpoint",
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(region: Option<&str>) -> EndpointInputs {
        EndpointInputs {
            region: region.map(String::from),
            ..Default::default()
        }
    }

    #[test]
    fn default_endpoints_by_partition() {
        let e = resolve(Service::Sts, &inputs(None));
        assert_eq!(e.url, "https://sts.amazonaws.com");
        assert_eq!(e.signing_region, "us-east-1");
        let e = resolve(Service::Sts, &inputs(Some("us-iso-east-1")));
        assert_eq!(e.url, "https://sts.us-iso-east-1.c2s.ic.gov");
        let e = resolve(Service::Iam, &inputs(Some("us-isof-east-1")));
        assert_eq!(
            (e.url.as_str(), e.signing_region.as_str()),
            (
                "https://iam.us-isof-south-1.csp.hci.ic.gov",
                "us-isof-south-1"
            )
        );
        let e = resolve(Service::Sts, &inputs(Some("eusc-de-east-1")));
        assert_eq!(e.url, "https://sts.eusc-de-east-1.amazonaws.eu");
        // Unknown regions of AWS's shape are in aws, as in botocore.
        let e = resolve(Service::Sts, &inputs(Some("xx-fake-1")));
        assert_eq!(e.url, "https://sts.xx-fake-1.amazonaws.com");
        assert_eq!(partition_of("us-gov-east-1").id, "aws-us-gov");
        assert_eq!(partition_of("us-isob-east-1").id, "aws-iso-b");
        assert_eq!(partition_of("aws-cn-global").id, "aws-cn");
        assert_eq!(partition_of("us-iso-east").id, "aws");
        let e = resolve(Service::Sts, &inputs(Some("eu-west-1")));
        assert_eq!(e.url, "https://sts.eu-west-1.amazonaws.com");
        let e = resolve(Service::Sts, &inputs(Some("cn-northwest-1")));
        assert_eq!(e.url, "https://sts.cn-northwest-1.amazonaws.com.cn");
        let e = resolve(Service::Sts, &inputs(Some("us-gov-west-1")));
        assert_eq!(e.url, "https://sts.us-gov-west-1.amazonaws.com");
        let e = resolve(Service::Iam, &inputs(Some("cn-north-1")));
        assert_eq!(e.url, "https://iam.cn-north-1.amazonaws.com.cn");
        assert_eq!(e.signing_region, "cn-north-1");
        let e = resolve(Service::Iam, &inputs(Some("us-gov-east-1")));
        assert_eq!(e.url, "https://iam.us-gov.amazonaws.com");
        let e = resolve(Service::Iam, &inputs(Some("eu-west-1")));
        assert_eq!(
            (e.url.as_str(), e.signing_region.as_str()),
            ("https://iam.amazonaws.com", "us-east-1")
        );
    }

    #[test]
    fn legacy_sts_endpoints() {
        let mut i = inputs(Some("eu-west-1"));
        i.sts_regional_endpoints = Some("legacy".into());
        assert_eq!(resolve(Service::Sts, &i).url, "https://sts.amazonaws.com");
        i.region = Some("cn-northwest-1".into());
        assert_eq!(
            resolve(Service::Sts, &i).url,
            "https://sts.cn-northwest-1.amazonaws.com.cn"
        );
        i.region = Some("af-south-1".into());
        assert_eq!(
            resolve(Service::Sts, &i).url,
            "https://sts.af-south-1.amazonaws.com"
        );
    }

    #[test]
    fn precedence_matches_the_aws_cli() {
        let mut i = EndpointInputs {
            cli_url: Some("https://cli/".into()),
            env_service_url: Some("https://env-sts".into()),
            env_url: Some("https://env".into()),
            services_url: Some("https://services".into()),
            profile_url: Some("https://profile".into()),
            region: Some("us-east-2".into()),
            ..Default::default()
        };
        assert_eq!(resolve(Service::Sts, &i).url, "https://cli");
        i.cli_url = None;
        assert_eq!(resolve(Service::Sts, &i).url, "https://env-sts");
        i.env_service_url = None;
        assert_eq!(resolve(Service::Sts, &i).url, "https://env");
        i.env_url = None;
        assert_eq!(resolve(Service::Sts, &i).url, "https://services");
        i.services_url = None;
        let e = resolve(Service::Sts, &i);
        assert_eq!(e.url, "https://profile");
        assert_eq!(e.signing_region, "us-east-2");
        i.ignore_configured = true;
        assert_eq!(
            resolve(Service::Sts, &i).url,
            "https://sts.us-east-2.amazonaws.com"
        );
    }
}
