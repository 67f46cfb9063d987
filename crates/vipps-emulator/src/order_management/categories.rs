//! The `/v3/categories` endpoints (add, query by order, read, delete) and the images:
//! `POST /v1/images` and the public route that serves an image back to pages.

use super::errors::{respond, OmError};
use super::handlers::{begin, body, check_image, once};
use super::model::{image_key, CategoryEntry, ImageEntry, Orders};
use crate::core::error::Stored;
use crate::core::state::AppState;
use crate::core::store::Fingerprint;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use vipps_types::order_management::{
    AddCategoryRequest, AddCategoryResponse, Categories, Category, ImageResponse, ImageUpload, OrderId,
};
use vipps_types::Validate;

/// The image route's body limit: base64 of a 2 MB image is about 2.8 MB.
pub(super) const IMAGE_BODY_LIMIT: usize = 3 * 1024 * 1024;

/// `POST /order-management/v3/categories`.
pub(super) async fn add(State(state): State<AppState>, req: Request) -> Response {
    respond(add_inner(&state, req).await)
}

async fn add_inner(state: &AppState, req: Request) -> Result<Stored, OmError> {
    let call = begin(state, req, true, 0).await?;
    let request: AddCategoryRequest = body(&call)?;
    request.validate()?;
    let fingerprint = Fingerprint::of(&request);
    Ok(once(state, &call, "POST", fingerprint, |t, now| {
        // The spec lists no 404 here: an unknown order is a bad parameter.
        if state
            .order_currency(t, &call.msn, &request.payment_type, request.order_id.as_str())
            .is_none()
        {
            return Err(OmError::invalid(
                "orderId",
                format!(
                    "no {} order '{}' exists for this merchant",
                    request.payment_type, request.order_id
                ),
            ));
        }
        let om = t.get_mut::<Orders>();
        check_image(om, &call.msn, request.image_id.as_ref())?;
        let id = uuid::Uuid::new_v4().to_string();
        let seq = om.next_seq();
        om.categories.insert(
            id.clone(),
            CategoryEntry {
                msn: call.msn.clone(),
                created: now,
                seq,
                category: Category::new(id.clone(), request),
            },
        );
        Ok(Stored::json(StatusCode::CREATED, &AddCategoryResponse::new(id)))
    }))
}

/// `GET /order-management/v3/categories?orderId=…`.
pub(super) async fn list(State(state): State<AppState>, req: Request) -> Response {
    respond(list_inner(&state, req).await)
}

async fn list_inner(state: &AppState, req: Request) -> Result<Stored, OmError> {
    let query = req.uri().query().map(str::to_owned);
    let call = begin(state, req, false, 0).await?;
    let order_id = query
        .as_deref()
        .and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "orderId")
                .map(|(_, v)| v.into_owned())
        })
        .ok_or_else(|| OmError::invalid("orderId", "the query parameter is required"))?;
    OrderId::check(&order_id).map_err(|e| OmError::invalid("orderId", e.reason))?;
    let found = state
        .store()
        .read(|t| t.get::<Orders>().categories_of(&call.msn, &order_id));
    Ok(Stored::json(StatusCode::OK, &Categories::new(found)))
}

/// The `{categoryId}` of a path: a UUID.
fn category_id(p: Result<Path<String>, PathRejection>) -> Result<String, OmError> {
    let Path(id) = p.map_err(|e| OmError::invalid("categoryId", e.body_text()))?;
    uuid::Uuid::parse_str(&id)
        .map(|u| u.to_string())
        .map_err(|_| OmError::invalid("categoryId", format!("must be a category id (a UUID), was '{id}'")))
}

fn not_found(id: &str) -> OmError {
    OmError::not_found(format!("No category with id '{id}' exists for this merchant"))
}

/// `GET /order-management/v3/categories/{categoryId}`.
pub(super) async fn get(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    req: Request,
) -> Response {
    let r = async {
        let call = begin(&state, req, false, 0).await?;
        let id = category_id(path)?;
        state.store().read(|t| {
            let c = (t.get::<Orders>().categories.get(&id))
                .filter(|c| c.msn == call.msn)
                .ok_or_else(|| not_found(&id))?;
            Ok(Stored::json(StatusCode::OK, &c.category))
        })
    };
    respond(r.await)
}

/// `DELETE /order-management/v3/categories/{categoryId}`.
pub(super) async fn remove(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    req: Request,
) -> Response {
    let r = async {
        let call = begin(&state, req, true, 0).await?;
        let id = category_id(path)?;
        Ok(once(&state, &call, "DELETE", Fingerprint::of(&id), |t, _| {
            let om = t.get_mut::<Orders>();
            if om.categories.get(&id).is_none_or(|c| c.msn != call.msn) {
                return Err(not_found(&id));
            }
            om.categories.remove(&id);
            Ok(Stored::empty(StatusCode::OK))
        }))
    };
    respond(r.await)
}

/// `POST /order-management/v1/images`: idempotent by `imageId` (the same bytes again: 200,
/// nothing changes; other bytes: 409).
pub(super) async fn upload(State(state): State<AppState>, req: Request) -> Response {
    let r = async {
        let call = begin(&state, req, true, IMAGE_BODY_LIMIT).await?;
        let upload: ImageUpload = body(&call)?;
        let image = upload.decode()?;
        let fingerprint = Fingerprint::of(&upload);
        let image_id = upload.image_id;
        Ok(once(&state, &call, "POST", fingerprint, |t, now| {
            let om = t.get_mut::<Orders>();
            let key = image_key(&call.msn, image_id.as_str());
            let answer = Stored::json(StatusCode::OK, &ImageResponse::new(image_id.as_str()));
            if let Some(old) = om.images.get(&key) {
                if *old.bytes == *image.bytes {
                    return Ok(answer);
                }
                return Err(OmError::conflict(format!(
                    "Image '{image_id}' exists already with other content: an image cannot be changed"
                )));
            }
            let seq = om.next_seq();
            om.images.insert(
                key,
                ImageEntry {
                    created: now,
                    seq,
                    format: image.format,
                    bytes: image.bytes.into(),
                },
            );
            Ok(answer)
        }))
    };
    respond(r.await)
}

/// `GET /order-management/images/{msn}/{imageId}`: the image's bytes, without credentials
/// (pages show it, as the app does).
pub(super) async fn serve(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let Ok(Path((msn, image_id))) = path else {
        return OmError::not_found("No such image").render().into_response();
    };
    let found = state
        .store()
        .read(|t| t.get::<Orders>().images.get(&image_key(&msn, &image_id)).cloned());
    let Some(image) = found else {
        return OmError::not_found(format!("No image '{image_id}' of merchant {msn}"))
            .render()
            .into_response();
    };
    let mut r = (StatusCode::OK, bytes::Bytes::from_owner(image.bytes)).into_response();
    let headers = r.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(image.format.media_type()),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    r
}
