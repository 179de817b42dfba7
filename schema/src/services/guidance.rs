//! Guidance per maturity area: what the next maturity level asks and what a
//! kommun needs to do to get there — for a kommun below level 2
//! ("established"), the step the report's recommendations are about.
//!
//! The defaults below are our own words, drawn from the report's
//! recommendations ("Vad kommunerna behöver göra") and MSB's description of
//! an established way of working; each names the report section it rests
//! on. SKR admins may replace an area's text per round (`setGuidance`);
//! a new round copies its source round's replacements.

use chrono::Utc;
use entity::{area, guidance};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::policy::AdminScope;

/// One area's guidance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guidance {
    pub area_key: String,
    pub text_sv: String,
    pub text_en: String,
    /// Where in the report the advice comes from.
    pub reference: String,
    /// Who replaced the default text, and when; `None` for the default.
    pub edited: Option<(String, chrono::DateTime<Utc>)>,
}

/// The default guidance per area key: Swedish, English, report reference.
const DEFAULTS: [(&str, &str, &str, &str); 9] = [
    (
        "management_information",
        "Nästa nivå innebär att ledningen får information om informationssäkerheten på ett etablerat sätt, minst en gång om året. Gör ledningens genomgång till en återkommande punkt: informationssäkerhetssamordnaren redovisar läget, riskerna och vad som behöver beslutas, och ledningen fattar beslut om mål och åtgärder.",
        "The next level means that management is informed about information security in an established way, at least once a year. Make the management review a recurring item: the coordinator reports the state of things, the risks and what needs deciding, and management decides on goals and measures.",
        "Rekommendationer: Genomför ledningens genomgång; uppföljningsområde Information till ledningen",
    ),
    (
        "governing_documents",
        "Nästa nivå innebär att informationssäkerhetspolicyn och de styrande dokumenten är beslutade på rätt nivå och används i hela verksamheten. Ta fram eller uppdatera policyn, låt kommunfullmäktige eller kommunstyrelsen besluta den, och omsätt ledningens mål i konkreta handlingsplaner med aktiviteter och ansvariga.",
        "The next level means that the information security policy and the governing documents are adopted at the right level and used throughout the organisation. Write or update the policy, have the municipal council or executive board adopt it, and turn management's goals into concrete action plans with activities and owners.",
        "Rekommendationer: Omsätt ledningens mål i konkreta handlingsplaner; uppföljningsområde Styrande dokument",
    ),
    (
        "risk_management",
        "Nästa nivå innebär att risker för informationen hanteras enligt en fastställd process som följs i hela kommunens verksamhet, inte bara där arbetet har börjat. Förankra processen i förvaltningarna, låt ledningen godkänna riskåtgärderna, följ upp att de genomförs och utvärdera om de hade effekt.",
        "The next level means that risks to information are handled by an adopted process that is followed throughout the municipality, not only where the work has started. Anchor the process in every department, have management approve the risk treatments, follow up that they are carried out and evaluate whether they worked.",
        "Rekommendationer: Förankra riskhanteringsprocessen i hela kommunens verksamhet; uppföljningsområde Hantering av informationssäkerhetsrisker",
    ),
    (
        "asset_classification",
        "Nästa nivå innebär att kommunens informationstillgångar klassas enligt en fastställd process i hela verksamheten, så att varje tillgång får skydd som motsvarar dess värde. Inventera informationen verksamhet för verksamhet, klassa den (till exempel med KLASSA) och koppla klassningen till de säkerhetsåtgärder som ska gälla.",
        "The next level means that the municipality's information assets are classified by an adopted process throughout the organisation, so that each asset is protected according to its value. Inventory the information department by department, classify it (for example with KLASSA) and tie the classification to the security measures that apply.",
        "Rekommendationer: Förankra klassificeringsprocessen i hela kommunens verksamhet; uppföljningsområde Klassificering av informationstillgångar",
    ),
    (
        "incident_management",
        "Nästa nivå innebär att informationssäkerhetsincidenter upptäcks, rapporteras och hanteras enligt en fastställd process som alla medarbetare känner till. Gör det enkelt att rapportera, utse vem som tar emot och leder hanteringen, och lär av varje incident så att den inte upprepas.",
        "The next level means that information security incidents are detected, reported and handled by an adopted process that every employee knows. Make reporting easy, name who receives and leads the handling, and learn from every incident so that it does not happen again.",
        "Rekommendationer: Förankra incidenthanteringsprocessen i hela kommunens verksamhet; uppföljningsområde Hantering av informationssäkerhetsincidenter",
    ),
    (
        "continuity_management",
        "Nästa nivå innebär att verksamhetens tillgång till information vid störningar säkerställs på ett etablerat sätt. Ta fram kontinuitetsplaner för den kritiska verksamheten, med rutiner och säkerhetsåtgärder som förebygger och hanterar avbrott, och öva dem så att verksamheten kan bedrivas även när systemen ligger nere.",
        "The next level means that the organisation's access to information during disruptions is ensured in an established way. Write continuity plans for critical services, with routines and security measures that prevent and handle outages, and exercise them so that the service can go on even when the systems are down.",
        "Rekommendationer: Säkerställ verksamhetens tillgång till information; uppföljningsområde Kontinuitetshantering",
    ),
    (
        "security_training",
        "Nästa nivå innebär att alla medarbetare, chefer och förtroendevalda utbildas i informationssäkerhet på ett etablerat och återkommande sätt. Gör en grundutbildning obligatorisk för nyanställda, upprepa den löpande och anpassa fördjupningar efter roll, så att de styrande dokumenten följs och misstag undviks.",
        "The next level means that all employees, managers and elected officials are trained in information security in an established, recurring way. Make a basic course mandatory for new staff, repeat it regularly and add role-specific parts, so that the governing documents are followed and mistakes avoided.",
        "Rekommendationer: Utbilda samtliga medarbetare i informationssäkerhet; uppföljningsområde Utbildning inom informationssäkerhet",
    ),
    (
        "procurement_requirements",
        "Nästa nivå innebär att informationssäkerhetskrav ställs och följs upp vid alla relevanta upphandlingar, som en naturlig del av upphandlingsprocessen. Utgå från klassningen av informationen när kraven formuleras (till exempel med KLASSA), och kontrollera att leverantören uppfyller dem — upphandlade lösningar lever länge.",
        "The next level means that information security requirements are set and followed up in every relevant procurement, as a natural part of the procurement process. Base the requirements on the classification of the information (for example with KLASSA), and check that the supplier meets them — procured solutions live long.",
        "Rekommendationer: Ställ informationssäkerhetskrav vid samtliga relevanta upphandlingar; uppföljningsområde Informationssäkerhetsrelaterade krav vid upphandlingar",
    ),
    (
        "follow_up",
        "Nästa nivå innebär att kommunen följer upp sitt informationssäkerhetsarbete löpande och på ett etablerat sätt. Bestäm vad som ska mätas och hur ofta, följ upp att de gemensamma arbetssätten efterlevs och rapportera resultatet till ledningen, så att dess beslut om det fortsatta arbetet vilar på rätt underlag.",
        "The next level means that the municipality follows up its information security work continuously and in an established way. Decide what to measure and how often, check that the common ways of working are followed and report the results to management, so that its decisions on the further work rest on the right facts.",
        "Rekommendationer: Följ upp kommunens informationssäkerhetsarbete; uppföljningsområde Uppföljning",
    ),
];

/// The default guidance of an area, if the area is one of the nine.
pub fn default_for(area_key: &str) -> Option<Guidance> {
    DEFAULTS
        .iter()
        .find(|(key, ..)| *key == area_key)
        .map(|(key, sv, en, reference)| Guidance {
            area_key: (*key).to_owned(),
            text_sv: (*sv).to_owned(),
            text_en: (*en).to_owned(),
            reference: (*reference).to_owned(),
            edited: None,
        })
}

fn from_row(row: guidance::Model) -> Guidance {
    Guidance {
        area_key: row.area_key,
        text_sv: row.text_sv,
        text_en: row.text_en,
        reference: row.reference,
        edited: Some((row.updated_by, row.updated_at)),
    }
}

/// A round's guidance for one area: SKR's text for the round, else the default.
pub async fn for_area(
    db: &impl ConnectionTrait,
    round: Uuid,
    area_key: &str,
) -> ApiResult<Option<Guidance>> {
    let row = guidance::Entity::find_by_id((round, area_key.to_owned()))
        .one(db)
        .await?;
    Ok(row.map(from_row).or_else(|| default_for(area_key)))
}

/// A round's guidance for each of its maturity areas, in area order: two
/// queries, the areas and SKR's texts for them.
pub async fn for_round(db: &impl ConnectionTrait, round: Uuid) -> ApiResult<Vec<Guidance>> {
    let mut areas: Vec<area::Model> = area::Entity::find()
        .filter(area::Column::RoundId.eq(round))
        .filter(area::Column::Number.is_not_null())
        .all(db)
        .await?;
    areas.sort_by_key(|a| a.number);
    let mut edited: std::collections::HashMap<String, guidance::Model> = guidance::Entity::find()
        .filter(guidance::Column::RoundId.eq(round))
        .all(db)
        .await?
        .into_iter()
        .map(|g| (g.area_key.clone(), g))
        .collect();
    Ok(areas
        .into_iter()
        .filter_map(|a| {
            edited
                .remove(&a.key)
                .map(from_row)
                .or_else(|| default_for(&a.key))
        })
        .collect())
}

/// What `setGuidance` asks for.
#[derive(Clone, Debug)]
pub struct NewGuidance {
    pub area_key: String,
    pub text_sv: String,
    pub text_en: String,
    pub reference: Option<String>,
}

/// Replaces a round's guidance for one of its maturity areas.
pub async fn set(
    db: &impl ConnectionTrait,
    admin: &AdminScope,
    round: Uuid,
    input: NewGuidance,
) -> ApiResult<Guidance> {
    let exists = area::Entity::find()
        .filter(area::Column::RoundId.eq(round))
        .filter(area::Column::Key.eq(input.area_key.as_str()))
        .filter(area::Column::Number.is_not_null())
        .one(db)
        .await?
        .is_some();
    if !exists {
        return Err(ApiError::not_found(format!(
            "the round has no maturity area {:?}",
            input.area_key
        )));
    }
    for (name, text) in [("textSv", &input.text_sv), ("textEn", &input.text_en)] {
        let n = text.trim().chars().count();
        if n == 0 || n > 4000 {
            return Err(ApiError::bad_input(format!(
                "{name} must have 1 to 4000 characters"
            )));
        }
    }
    let reference = input
        .reference
        .or_else(|| default_for(&input.area_key).map(|d| d.reference))
        .unwrap_or_default();
    if reference.chars().count() > 500 {
        return Err(ApiError::bad_input(
            "reference may have at most 500 characters",
        ));
    }
    let row = guidance::Model {
        round_id: round,
        area_key: input.area_key,
        text_sv: input.text_sv.trim().to_owned(),
        text_en: input.text_en.trim().to_owned(),
        reference,
        updated_by: admin.actor().to_owned(),
        updated_at: Utc::now(),
    };
    guidance::Entity::insert(guidance::ActiveModel::from(row.clone()))
        .on_conflict(
            OnConflict::columns([guidance::Column::RoundId, guidance::Column::AreaKey])
                .update_columns([
                    guidance::Column::TextSv,
                    guidance::Column::TextEn,
                    guidance::Column::Reference,
                    guidance::Column::UpdatedBy,
                    guidance::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    tracing::info!(admin = admin.actor(), round = %round, area = %row.area_key, "guidance set");
    Ok(from_row(row))
}

/// Copies a round's replaced texts to a new round (in its transaction).
pub async fn copy(db: &impl ConnectionTrait, from: Uuid, to: Uuid) -> ApiResult<()> {
    let rows = guidance::Entity::find()
        .filter(guidance::Column::RoundId.eq(from))
        .all(db)
        .await?;
    if rows.is_empty() {
        return Ok(());
    }
    guidance::Entity::insert_many(rows.into_iter().map(|r| guidance::ActiveModel {
        round_id: Set(to),
        ..guidance::ActiveModel::from(r)
    }))
    .exec_without_returning(db)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_area_has_guidance_in_both_languages() {
        for (key, sv, en, reference) in DEFAULTS {
            assert!(sv.starts_with("Nästa nivå"), "{key}");
            assert!(en.starts_with("The next level"), "{key}");
            assert!(reference.starts_with("Rekommendationer"), "{key}");
            assert_eq!(default_for(key).map(|g| g.area_key), Some(key.to_owned()));
        }
        assert_eq!(default_for("function"), None);
    }
}
