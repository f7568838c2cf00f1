//! `STORAGE_URL=s3://bucket/prefix` and the usual AWS variables beside it:
//! where the contents go when they do not stay on the local disk.

use crate::secret::Secret;

use super::ConfigError;

/// An S3-compatible bucket, as configured.
#[derive(Clone, Debug)]
pub struct ObjectStorage {
    pub bucket: String,
    /// Keys begin with this (no leading or trailing `/`); may be empty.
    pub prefix: String,
    /// `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_S3`): a self-hosted store,
    /// reached path-style; AWS itself when unset.
    pub endpoint: Option<url::Url>,
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`, else `us-east-1`.
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret<String>>,
    pub session_token: Option<Secret<String>>,
}

impl ObjectStorage {
    /// `s3://bucket/prefix`, for messages.
    pub fn url(&self) -> String {
        match self.prefix.is_empty() {
            true => format!("s3://{}", self.bucket),
            false => format!("s3://{}/{}", self.bucket, self.prefix),
        }
    }

    /// Reads `STORAGE_URL` and, when it is set, the AWS variables.
    pub(super) fn from_vars(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<ObjectStorage>, ConfigError> {
        let Some(raw) = get("STORAGE_URL") else {
            return Ok(None);
        };
        let (bucket, prefix) =
            parse_storage_url(&raw).map_err(|m| ConfigError::new("STORAGE_URL", m))?;
        let (endpoint_name, endpoint) = match get("AWS_ENDPOINT_URL_S3") {
            Some(url) => ("AWS_ENDPOINT_URL_S3", Some(url)),
            None => ("AWS_ENDPOINT_URL", get("AWS_ENDPOINT_URL")),
        };
        let endpoint = endpoint
            .map(|raw| parse_endpoint(&raw).map_err(|m| ConfigError::new(endpoint_name, m)))
            .transpose()?;
        let region = get("AWS_REGION")
            .or_else(|| get("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".to_owned());
        let access_key_id = get("AWS_ACCESS_KEY_ID");
        let secret_access_key = get("AWS_SECRET_ACCESS_KEY").map(Secret::new);
        match (&access_key_id, &secret_access_key) {
            (Some(_), None) => {
                return Err(ConfigError::new(
                    "AWS_SECRET_ACCESS_KEY",
                    "required with AWS_ACCESS_KEY_ID",
                ));
            }
            (None, Some(_)) => {
                return Err(ConfigError::new(
                    "AWS_ACCESS_KEY_ID",
                    "required with AWS_SECRET_ACCESS_KEY",
                ));
            }
            _ => {}
        }
        Ok(Some(ObjectStorage {
            bucket,
            prefix,
            endpoint,
            region,
            access_key_id,
            secret_access_key,
            session_token: get("AWS_SESSION_TOKEN").map(Secret::new),
        }))
    }
}

/// `s3://bucket/prefix` into the bucket's name and the prefix.
fn parse_storage_url(raw: &str) -> Result<(String, String), String> {
    let expected = || format!("expected s3://bucket/prefix, got `{}`", raw.trim());
    let url = url::Url::parse(raw.trim()).map_err(|e| format!("not a URL ({e})"))?;
    let bucket = url.host_str().filter(|host| !host.is_empty());
    let (true, Some(bucket)) = (url.scheme() == "s3", bucket) else {
        return Err(expected());
    };
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(expected());
    }
    let prefix = url.path().trim_matches('/');
    if prefix
        .split('/')
        .any(|segment| segment.is_empty() && !prefix.is_empty())
    {
        return Err(format!("the prefix `{prefix}` has an empty segment"));
    }
    Ok((bucket.to_owned(), prefix.to_owned()))
}

fn parse_endpoint(raw: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(raw.trim()).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "expected the store's address such as https://s3.example:3900, got `{}`",
            raw.trim()
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<Option<ObjectStorage>, ConfigError> {
        ObjectStorage::from_vars(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn a_bucket_url_names_the_bucket_and_prefix() {
        let storage = read(&[
            ("STORAGE_URL", "s3://vault/site/one/"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:3900"),
            ("AWS_REGION", "garage"),
            ("AWS_ACCESS_KEY_ID", "GK1"),
            ("AWS_SECRET_ACCESS_KEY", "s3cret"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(storage.bucket, "vault");
        assert_eq!(storage.prefix, "site/one");
        assert_eq!(storage.url(), "s3://vault/site/one");
        assert_eq!(storage.region, "garage");
        assert_eq!(storage.endpoint.unwrap().port(), Some(3900));
        assert!(!format!("{:?}", storage.secret_access_key).contains("s3cret"));
        assert!(read(&[]).unwrap().is_none());
    }

    #[test]
    fn bad_values_name_their_variable() {
        let variable = |vars: &[(&str, &str)]| read(vars).unwrap_err().variable;
        assert_eq!(variable(&[("STORAGE_URL", "ftp://x")]), "STORAGE_URL");
        assert_eq!(variable(&[("STORAGE_URL", "s3:///prefix")]), "STORAGE_URL");
        assert_eq!(variable(&[("STORAGE_URL", "s3://b/a//c")]), "STORAGE_URL");
        assert_eq!(
            variable(&[
                ("STORAGE_URL", "s3://b"),
                ("AWS_ENDPOINT_URL", "garage:3900")
            ]),
            "AWS_ENDPOINT_URL"
        );
        assert_eq!(
            variable(&[("STORAGE_URL", "s3://b"), ("AWS_ACCESS_KEY_ID", "GK1")]),
            "AWS_SECRET_ACCESS_KEY"
        );
    }
}
