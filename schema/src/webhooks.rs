//! Webhooks in `Query` and `Mutation`, for SKR admins.

use async_graphql::{Context, ID, Object, Result};
use sea_orm::DatabaseConnection;

use crate::policy::{self, AdminScope, Needs};
use crate::principal::Principal;
use crate::services::changes;
use crate::services::targets::Targets;
use crate::services::webhooks::{self, NewWebhook};
use crate::types::change::ChangeKind;
use crate::types::webhook::{DeliveryStatus, Webhook, WebhookDelivery};

fn admin(ctx: &Context<'_>) -> Result<AdminScope> {
    Ok(policy::admin(Principal::of(ctx))?)
}

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// SKR_ADMIN: the registered webhooks, oldest first.
    #[graphql(guard = "Needs::Admin")]
    async fn webhooks(&self, ctx: &Context<'_>) -> Result<Vec<Webhook>> {
        let admin = admin(ctx)?;
        let db = ctx.data::<DatabaseConnection>()?;
        Ok(webhooks::list(db, &admin)
            .await?
            .into_iter()
            .map(Webhook)
            .collect())
    }

    /// SKR_ADMIN: deliveries, newest first, of one webhook or all.
    #[graphql(guard = "Needs::Admin")]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this webhook's deliveries.")] webhook_id: Option<ID>,
        #[graphql(desc = "Only deliveries in this status.")] status: Option<DeliveryStatus>,
        #[graphql(default = 50, desc = "At most this many (1 to 500).")] first: i32,
    ) -> Result<Vec<WebhookDelivery>> {
        let admin = admin(ctx)?;
        let db = ctx.data::<DatabaseConnection>()?;
        let first = changes::page_size(first)?;
        let list = webhooks::deliveries(
            db,
            &admin,
            webhook_id.as_ref().map(|id| id.as_str()),
            status.map(DeliveryStatus::as_str),
            first,
        )
        .await?;
        Ok(list.into_iter().map(WebhookDelivery).collect())
    }
}

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// SKR_ADMIN: registers an endpoint for the events of `events` committed
    /// from now on. Each is POSTed as JSON, signed with `secret`
    /// (`X-Mognad-Signature: sha256=<hex HMAC-SHA256 of the body>`), and
    /// retried with backoff until the endpoint answers 2xx. The secret is
    /// never shown again.
    #[graphql(guard = "Needs::Admin")]
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "An absolute http:// or https:// URL that reaches a public address (or one the operator allows)."
        )]
        url: String,
        #[graphql(desc = "The kinds of events to deliver (at least one).")] events: Vec<ChangeKind>,
        #[graphql(desc = "The HMAC key of the signatures: 16 to 256 bytes, random.")]
        secret: String,
    ) -> Result<Webhook> {
        let admin = admin(ctx)?;
        let db = ctx.data::<DatabaseConnection>()?;
        let input = NewWebhook {
            url,
            events: events.into_iter().map(Into::into).collect(),
            secret,
        };
        let targets = ctx.data::<Targets>()?;
        Ok(Webhook(webhooks::create(db, &admin, targets, input).await?))
    }

    /// SKR_ADMIN: removes a webhook with its deliveries; nothing more is sent to it.
    #[graphql(guard = "Needs::Admin")]
    async fn delete_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The webhook's id.")] id: ID,
    ) -> Result<bool> {
        let admin = admin(ctx)?;
        let db = ctx.data::<DatabaseConnection>()?;
        webhooks::delete(db, &admin, &id).await?;
        Ok(true)
    }

    /// SKR_ADMIN: sends the webhook a signed test event now (kind
    /// `WEBHOOK_TEST`, no round, `deliveryId` starting `test-`), as a
    /// delivery is sent, and says what came of it. Nothing is stored and no
    /// feed event is made.
    #[graphql(guard = "Needs::Admin")]
    async fn test_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The webhook's id.")] id: ID,
    ) -> Result<crate::types::webhook::WebhookAttempt> {
        let admin = admin(ctx)?;
        let db = ctx.data::<DatabaseConnection>()?;
        let tester = ctx.data::<webhooks::Tester>()?;
        let attempt = webhooks::test(db, &admin, tester, &id).await?;
        Ok(crate::types::webhook::WebhookAttempt {
            number: 1,
            at: crate::types::time::Timestamp(attempt.at),
            status_code: attempt.status_code.map(i32::from),
            error: attempt.error,
            duration_ms: i32::try_from(attempt.duration.as_millis()).unwrap_or(i32::MAX),
        })
    }

    /// SKR_ADMIN: puts a FAILED delivery back in line, due now, with a fresh
    /// count of attempts (its earlier attempts stay in its log).
    #[graphql(guard = "Needs::Admin")]
    async fn retry_webhook_delivery(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The delivery's id.")] id: ID,
    ) -> Result<bool> {
        let admin = admin(ctx)?;
        let db = ctx.data::<DatabaseConnection>()?;
        webhooks::retry(db, &admin, &id).await?;
        Ok(true)
    }
}
