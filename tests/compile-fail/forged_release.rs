// A round's figures cannot be released by hand: only the policy makes a `Released`.
fn release(round: entity::survey_round::Model) -> schema::policy::Released {
    schema::policy::Released {
        round,
        to: schema::policy::Release::Public,
    }
}

fn main() {}
