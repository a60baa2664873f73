//! Outbound clients for the providers and the `offboard` playbook (issue 4: stub until it lands).

/// `userplane offboard` arguments.
#[derive(Debug, clap::Args)]
pub struct OffboardArgs {
    /// Email addresses of the people to offboard.
    pub emails: Vec<String>,
}

/// `userplane reinstate` arguments.
#[derive(Debug, clap::Args)]
pub struct ReinstateArgs {
    /// Email address of the person to re-activate.
    pub email: String,
}

/// Runs the offboarding playbook; returns the process exit code.
pub async fn run_offboard(_args: OffboardArgs) -> std::process::ExitCode {
    eprintln!("offboard: not implemented yet");
    std::process::ExitCode::from(2)
}

/// Re-activates a person's Zoom user; returns the process exit code.
pub async fn run_reinstate(_args: ReinstateArgs) -> std::process::ExitCode {
    eprintln!("reinstate: not implemented yet");
    std::process::ExitCode::from(2)
}
