//! Gateway mode: a serenity `Client` holding Discord's websocket, with no intents
//! (interactions need none), whose event handler hands every interaction to the shared
//! [`DiscordCore`] and POSTs the first response (`POST /interactions/{id}/{token}/callback`).
//!
//! The client gets its own `Http` (built by [`build_http`](super::build_http), so with
//! `api_base_url` it too talks to that base, rate limiter off): it only fetches the gateway URL
//! and the bot user. Every interaction response and later call goes through the core's `Http`.

use std::future::Future;
use std::sync::Arc;

use passdesk_config::DiscordConfig;
use serenity::all::{Context, EventHandler, GatewayIntents, Interaction, Ready};
use serenity::async_trait;
use serenity::client::ClientBuilder;
use tracing::{info, warn};

use super::{DiscordCore, DiscordError, build_http};

/// The event handler: READY is logged, interactions go to the core.
struct Handler {
    core: DiscordCore,
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        info!(
            bot = %ready.user.id,
            guilds = ready.guilds.len(),
            "connected to the discord gateway"
        );
    }

    async fn interaction_create(&self, _ctx: Context, interaction: Interaction) {
        let id = interaction.id();
        let token = interaction.token().to_owned();
        let (response, follow_up) = self.core.handle(interaction).await.into_parts();
        match self.core.respond(id, &token, &response).await {
            Ok(()) => {
                let _ = follow_up.start();
            }
            Err(error) => {
                warn!(interaction_id = %id, %error, "the first response was refused; its follow-up is abandoned");
                drop(follow_up);
            }
        }
    }
}

/// Connects to the gateway and serves interactions with `core` until `shutdown` resolves
/// (then the shards are shut down) or the connection ends.
///
/// # Errors
///
/// The client could not be built, or every shard stopped with an error (e.g. a wrong token).
pub async fn run(
    discord: &DiscordConfig,
    core: DiscordCore,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), DiscordError> {
    let http = build_http(discord)?;
    let mut client = ClientBuilder::new_with_http(http, GatewayIntents::empty())
        .event_handler(Handler { core })
        .await
        .map_err(|e| DiscordError::Gateway(super::rest::describe(&e)))?;
    let shards = Arc::clone(&client.shard_manager);
    tokio::select! {
        ended = client.start() => ended.map_err(|e| DiscordError::Gateway(gateway_error(&e))),
        () = shutdown => {
            info!("disconnecting from the discord gateway");
            shards.shutdown_all().await;
            Ok(())
        }
    }
}

/// A gateway failure in words (no token, no URL).
fn gateway_error(error: &serenity::Error) -> String {
    match error {
        serenity::Error::Gateway(gateway) => passdesk_core::http::excerpt(&gateway.to_string()),
        serenity::Error::Client(client) => passdesk_core::http::excerpt(&client.to_string()),
        other => super::rest::describe(other),
    }
}
