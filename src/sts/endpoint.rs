//! Which URL an STS or IAM call goes to, and which region signs it.
//!
//! The order is the AWS CLI's: the command line's `--endpoint-url`, then
//! `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`, then the profile's
//! `services` section, then the profile's `endpoint_url`; all but the first are skipped
//! when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` / `ignore_configured_endpoint_urls` is true.
//! Without any of them the endpoint is AWS's own, by region and partition (aws, aws-cn,
//! aws-us-gov), regional for STS unless `sts_regional_endpoints = legacy`.

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

/// AWS's legacy global-endpoint regions (STS answered them at sts.amazonaws.com).
const LEGACY_GLOBAL_REGIONS: &[&str] = &[
    "ap-northeast-1",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "aws-global",
    "ca-central-1",
    "eu-central-1",
    "eu-north-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

fn partition_dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

/// Resolves the endpoint for `service`.
pub fn resolve(service: Service, input: &EndpointInputs) -> Endpoint {
    let region = input
        .region
        .clone()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "us-east-1".to_string());
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
            signing_region: region,
            source,
        };
    }
    let suffix = partition_dns_suffix(&region);
    match service {
        Service::Sts => {
            let legacy = input
                .sts_regional_endpoints
                .as_deref()
                .is_some_and(|v| v.eq_ignore_ascii_case("legacy"));
            if legacy && LEGACY_GLOBAL_REGIONS.contains(&region.as_str()) {
                Endpoint {
                    service,
                    url: "https://sts.amazonaws.com".into(),
                    signing_region: "us-east-1".into(),
                    source: "AWS's global STS endpoint (sts_regional_endpoints = legacy)",
                }
            } else {
                let region = if region == "aws-global" {
                    "us-east-1".to_string()
                } else {
                    region
                };
                Endpoint {
                    service,
                    url: format!("https://sts.{region}.{suffix}"),
                    signing_region: region,
                    source: "AWS's regional STS endpoint",
                }
            }
        }
        Service::Iam => {
            let (url, signing) = if region.starts_with("cn-") {
                ("https://iam.cn-north-1.amazonaws.com.cn", "cn-north-1")
            } else if region.starts_with("us-gov-") {
                ("https://iam.us-gov.amazonaws.com", "us-gov-west-1")
            } else {
                ("https://iam.amazonaws.com", "us-east-1")
            };
            Endpoint {
                service,
                url: url.into(),
                signing_region: signing.into(),
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
        assert_eq!(e.url, "https://sts.us-east-1.amazonaws.com");
        assert_eq!(e.signing_region, "us-east-1");
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
