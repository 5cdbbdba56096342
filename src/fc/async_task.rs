//! The other half of an Async invocation: GetAsyncTask, StopAsyncTask and ListAsyncTasks, as the
//! official `@alicloud/fc20230330` client sends them.

use super::names::{validate_function_name, validate_qualifier, validate_task_id};
use super::{ApiRequest, Endpoint, API_VERSION};
use crate::acs3::encode::percent_encode;
use crate::acs3::{PayloadHash, SignableRequest};
use crate::error::Error;
use crate::http::Url;
use crate::prelude::*;
use crate::text::{concat, decimal};

/// Task states FC reports that will not change any more.
const TERMINAL: &[&str] = &["Succeeded", "Failed", "Stopped", "Invalid", "Expired"];

/// Whether an async task in `status` has finished (`Succeeded`, `Failed`, `Stopped`, `Invalid`,
/// `Expired`); `Enqueued`, `Dequeued`, `Running`, `Stopping` and `Retrying` have not.
pub fn is_terminal_status(status: &str) -> bool {
    TERMINAL.contains(&status)
}

fn task_path(function_name: &str, task_id: &str) -> Result<String, Error> {
    validate_function_name(function_name)?;
    validate_task_id(task_id)?;
    let (name, task) = (percent_encode(function_name), percent_encode(task_id));
    Ok(concat(&["/", API_VERSION, "/functions/", &name, "/async-tasks/", &task]))
}

fn build(
    endpoint: &Endpoint,
    method: &str,
    path: &str,
    query: &[(String, String)],
    action: &str,
) -> Result<ApiRequest, Error> {
    let mut url = concat(&[endpoint.origin(), path]);
    for (i, (k, v)) in query.iter().enumerate() {
        url.push(if i == 0 { '?' } else { '&' });
        url.push_str(&percent_encode(k));
        url.push('=');
        url.push_str(&percent_encode(v));
    }
    let request = SignableRequest::new(method, Url::parse(&url, "endpoint")?, &[], PayloadHash::empty())?;
    Ok(ApiRequest { action: action.to_owned(), request })
}

fn qualifier_query(qualifier: Option<&str>) -> Result<Vec<(String, String)>, Error> {
    match qualifier {
        Some(q) => {
            validate_qualifier(q)?;
            Ok(vec![("qualifier".to_owned(), q.to_owned())])
        }
        None => Ok(Vec::new()),
    }
}

/// `GET /2023-03-30/functions/{functionName}/async-tasks/{taskId}`.
pub fn get_async_task(
    endpoint: &Endpoint,
    function_name: &str,
    task_id: &str,
    qualifier: Option<&str>,
) -> Result<ApiRequest, Error> {
    build(endpoint, "GET", &task_path(function_name, task_id)?, &qualifier_query(qualifier)?, "GetAsyncTask")
}

/// `PUT /2023-03-30/functions/{functionName}/async-tasks/{taskId}/stop`.
pub fn stop_async_task(
    endpoint: &Endpoint,
    function_name: &str,
    task_id: &str,
    qualifier: Option<&str>,
) -> Result<ApiRequest, Error> {
    let path = concat(&[&task_path(function_name, task_id)?, "/stop"]);
    build(endpoint, "PUT", &path, &qualifier_query(qualifier)?, "StopAsyncTask")
}

/// `asc` or `desc` by start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    /// Oldest first.
    Asc,
    /// Newest first.
    Desc,
}

impl SortOrder {
    /// Parses `asc` or `desc`.
    pub fn parse(text: &str) -> Result<Self, Error> {
        match text {
            "asc" => Ok(SortOrder::Asc),
            "desc" => Ok(SortOrder::Desc),
            _ => Err(Error::invalid("sortOrderByTime", "must be \"asc\" or \"desc\"")),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            SortOrder::Asc => "asc",
            SortOrder::Desc => "desc",
        }
    }
}

/// ListAsyncTasks' filters and paging, each optional.
#[derive(Debug, Clone, Default)]
pub struct ListAsyncTasks<'a> {
    /// A version or alias.
    pub qualifier: Option<&'a str>,
    /// Only tasks in this state (e.g. `Running`).
    pub status: Option<&'a str>,
    /// Only task ids starting with this.
    pub prefix: Option<&'a str>,
    /// Started at or after (epoch ms).
    pub started_time_begin: Option<u64>,
    /// Started at or before (epoch ms).
    pub started_time_end: Option<u64>,
    /// Page size, 1 to 100.
    pub limit: Option<u32>,
    /// The `nextToken` of the previous page.
    pub next_token: Option<&'a str>,
    /// Order by start time.
    pub sort_order_by_time: Option<SortOrder>,
    /// Include each task's payload.
    pub include_payload: Option<bool>,
}

/// `GET /2023-03-30/functions/{functionName}/async-tasks`.
pub fn list_async_tasks(
    endpoint: &Endpoint,
    function_name: &str,
    options: &ListAsyncTasks<'_>,
) -> Result<ApiRequest, Error> {
    validate_function_name(function_name)?;
    let mut query = qualifier_query(options.qualifier)?;
    let mut text = |key: &str, value: Option<String>| {
        if let Some(v) = value {
            query.push((key.to_owned(), v));
        }
    };
    if options.limit.is_some_and(|l| !(1..=100).contains(&l)) {
        return Err(Error::invalid("limit", "must be from 1 to 100"));
    }
    for (argument, value) in [("status", options.status), ("prefix", options.prefix), ("nextToken", options.next_token)]
    {
        if value.is_some_and(|v| v.is_empty() || v.len() > 1024) {
            return Err(Error::invalid(argument, "must be 1 to 1024 characters"));
        }
    }
    text("includePayload", options.include_payload.map(|b| (if b { "true" } else { "false" }).to_owned()));
    text("limit", options.limit.map(|l| decimal(l.into())));
    text("nextToken", options.next_token.map(str::to_owned));
    text("prefix", options.prefix.map(str::to_owned));
    text("sortOrderByTime", options.sort_order_by_time.map(|o| o.as_str().to_owned()));
    text("startedTimeBegin", options.started_time_begin.map(decimal));
    text("startedTimeEnd", options.started_time_end.map(decimal));
    text("status", options.status.map(str::to_owned));
    let path = concat(&["/", API_VERSION, "/functions/", &percent_encode(function_name), "/async-tasks"]);
    build(endpoint, "GET", &path, &query, "ListAsyncTasks")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acs3::{AcsDate, Credentials};

    fn sign(call: &ApiRequest) -> crate::acs3::SignedRequest {
        let creds = Credentials::new("id", "secret", None).expect("valid");
        call.sign(&creds, AcsDate::from_unix_seconds(0).expect("valid"), "n").expect("signs")
    }

    fn endpoint() -> Endpoint {
        Endpoint::parse("http://127.0.0.1:9000").expect("valid")
    }

    #[test]
    fn builds_the_three_calls_like_the_official_client() {
        let get = sign(&get_async_task(&endpoint(), "f", "task-1", Some("prod")).expect("valid"));
        assert_eq!(
            (get.method.as_str(), get.url.as_str()),
            ("GET", "http://127.0.0.1:9000/2023-03-30/functions/f/async-tasks/task-1?qualifier=prod")
        );
        assert_eq!(get.header("x-acs-action"), Some("GetAsyncTask"));
        assert_eq!(get.header("content-type"), None, "no body, no content-type");

        let stop = sign(&stop_async_task(&endpoint(), "f", "task-1", None).expect("valid"));
        assert_eq!(
            (stop.method.as_str(), stop.url.as_str()),
            ("PUT", "http://127.0.0.1:9000/2023-03-30/functions/f/async-tasks/task-1/stop")
        );
        assert_eq!(stop.header("x-acs-action"), Some("StopAsyncTask"));

        let options = ListAsyncTasks {
            status: Some("Running"),
            prefix: Some("job-"),
            limit: Some(2),
            sort_order_by_time: Some(SortOrder::Asc),
            include_payload: Some(true),
            started_time_begin: Some(1),
            next_token: Some("abc="),
            ..ListAsyncTasks::default()
        };
        let list = sign(&list_async_tasks(&endpoint(), "f", &options).expect("valid"));
        assert_eq!(
            list.url,
            "http://127.0.0.1:9000/2023-03-30/functions/f/async-tasks?includePayload=true&limit=2&nextToken=abc%3D&prefix=job-&sortOrderByTime=asc&startedTimeBegin=1&status=Running"
        );
        assert_eq!(list.header("x-acs-action"), Some("ListAsyncTasks"));
    }

    #[test]
    fn refuses_bad_arguments() {
        assert!(get_async_task(&endpoint(), "f", "-bad", None).is_err());
        // FC names tasks after their request id, which may start with a digit.
        assert!(get_async_task(&endpoint(), "f", "1e26ae92-61e5-472f-b32d-1c9e3c4e0000", None).is_ok());
        assert!(stop_async_task(&endpoint(), "bad name", "t", None).is_err());
        assert!(list_async_tasks(&endpoint(), "f", &ListAsyncTasks { limit: Some(0), ..ListAsyncTasks::default() })
            .is_err());
        assert!(list_async_tasks(&endpoint(), "f", &ListAsyncTasks { limit: Some(101), ..ListAsyncTasks::default() })
            .is_err());
        assert!(list_async_tasks(&endpoint(), "f", &ListAsyncTasks { prefix: Some(""), ..ListAsyncTasks::default() })
            .is_err());
        assert!(SortOrder::parse("ascending").is_err());
    }

    #[test]
    fn terminal_states() {
        for s in ["Succeeded", "Failed", "Stopped", "Invalid", "Expired"] {
            assert!(is_terminal_status(s));
        }
        for s in ["Enqueued", "Dequeued", "Running", "Stopping", "Retrying", ""] {
            assert!(!is_terminal_status(s));
        }
    }
}
