package storage

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/okrbot/okrbot/okr"
)

const teamColumns = `t.id, t.name, t.channel_id, t.parent_id, t.created_by, t.created_at`

// CreateTeam stores a team, makes its creator (t.CreatedBy) its first lead and
// gives it the default schedule, in one transaction, setting t.ID and
// t.CreatedAt. It returns ECONFLICT when the channel already has a team or
// the name (in any case) is taken.
func (s *Store) CreateTeam(ctx context.Context, t *okr.Team) error {
	now := s.now()
	err := s.withTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.QueryRowxContext(ctx, `
			INSERT INTO teams (name, channel_id, parent_id, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5)
			RETURNING id, created_at`,
			t.Name, t.ChannelID, t.ParentID, t.CreatedBy, now,
		).Scan(&t.ID, &t.CreatedAt)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO team_members (team_id, user_id, role, added_by, added_at)
			VALUES ($1, $2, $3, $4, $5)`,
			t.ID, t.CreatedBy, okr.RoleLead, t.CreatedBy, now,
		); err != nil {
			return err
		}
		return insertSchedule(ctx, tx, okr.DefaultSchedule(t.ID), t.CreatedBy, now)
	})
	if err != nil {
		t.ID = 0
		return fmt.Errorf("storage: create team: %w", s.teamConflict(ctx, t, err))
	}
	return nil
}

// teamConflict words a unique violation on teams for the person creating t,
// naming the team that is in the way.
func (s *Store) teamConflict(ctx context.Context, t *okr.Team, err error) error {
	pqErr := pq.As(err, pqerror.UniqueViolation)
	if pqErr == nil {
		return mapError(err, "That team does not exist.")
	}
	var name string
	switch pqErr.Constraint {
	case "teams_channel_id_key":
		if s.db.GetContext(ctx, &name, `SELECT name FROM teams WHERE channel_id = $1`, t.ChannelID) != nil {
			name = "another team"
		}
		return &okr.Error{Code: okr.ECONFLICT, Field: "channel", Message: fmt.Sprintf("This channel already has a team: %s.", name)}
	case "teams_name_key":
		if s.db.GetContext(ctx, &name, `SELECT name FROM teams WHERE lower(name) = lower($1)`, t.Name) != nil {
			name = t.Name
		}
		return &okr.Error{Code: okr.ECONFLICT, Field: "name", Message: fmt.Sprintf("There is a team called %s already: pick another name.", name)}
	}
	return mapError(err, "")
}

// Team returns a team by id.
func (s *Store) Team(ctx context.Context, id int64) (*okr.Team, error) {
	var t okr.Team
	err := s.db.GetContext(ctx, &t, `
		SELECT `+teamColumns+`
		FROM teams t
		WHERE t.id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("storage: team: %w", mapError(err, "That team does not exist."))
	}
	return &t, nil
}

// teamRolesQuery reads a team and the roles in it of people ($2), in their
// order, "" for those who are not members.
const teamRolesQuery = `
	SELECT ` + teamColumns + `,
		ARRAY(
			SELECT COALESCE(m.role, '')
			FROM unnest($2::text[]) WITH ORDINALITY AS u(user_id, n)
			LEFT JOIN team_members m ON m.team_id = t.id AND m.user_id = u.user_id
			ORDER BY u.n) AS roles
	FROM teams t
	WHERE t.id = $1`

// TeamRoles returns a team with the roles in it of people, in their order,
// "" for those who are not members: one query for the look-ups of a form.
func (s *Store) TeamRoles(ctx context.Context, id int64, userIDs []string) (*okr.Team, []okr.Role, error) {
	var row struct {
		okr.Team
		Roles pq.StringArray `db:"roles"`
	}
	err := s.prepareHot(ctx)
	var q *sqlx.Stmt
	if err == nil {
		q, err = s.stmt(ctx, nil, teamRolesQuery)
	}
	if err == nil {
		err = q.GetContext(ctx, &row, id, pq.Array(userIDs))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("storage: team roles: %w", mapError(err, "That team does not exist."))
	}
	roles := make([]okr.Role, len(row.Roles))
	for i, r := range row.Roles {
		roles[i] = okr.Role(r)
	}
	return &row.Team, roles, nil
}

// TeamByChannel returns the team bound to a channel.
func (s *Store) TeamByChannel(ctx context.Context, channelID string) (*okr.Team, error) {
	var t okr.Team
	err := s.db.GetContext(ctx, &t, `
		SELECT `+teamColumns+`
		FROM teams t
		WHERE t.channel_id = $1`, channelID)
	if err != nil {
		return nil, fmt.Errorf("storage: team by channel: %w", mapError(err, "This channel has no team yet."))
	}
	return &t, nil
}

// TeamsByMember returns the teams a person belongs to, ordered by name.
func (s *Store) TeamsByMember(ctx context.Context, userID string) ([]okr.Team, error) {
	teams := []okr.Team{}
	err := s.db.SelectContext(ctx, &teams, `
		SELECT `+teamColumns+`
		FROM teams t
		JOIN team_members m ON m.team_id = t.id
		WHERE m.user_id = $1
		ORDER BY lower(t.name), t.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("storage: teams by member: %w", err)
	}
	return teams, nil
}

// MemberRole returns a person's role in a team, "" and no error when they
// are not a member (or the team does not exist).
func (s *Store) MemberRole(ctx context.Context, teamID int64, userID string) (okr.Role, error) {
	var roles []okr.Role
	err := s.db.SelectContext(ctx, &roles, `
		SELECT role
		FROM team_members
		WHERE team_id = $1 AND user_id = $2`, teamID, userID)
	if err != nil {
		return "", fmt.Errorf("storage: member role: %w", err)
	}
	if len(roles) == 0 {
		return "", nil
	}
	return roles[0], nil
}

// AddMembers adds people to a team with a role, by the person by. Adding a
// lead promotes an existing member; adding a member never demotes a lead. It
// returns, in the order given, the people whose membership or role changed.
// ENOTFOUND when the team does not exist.
func (s *Store) AddMembers(ctx context.Context, teamID int64, userIDs []string, role okr.Role, by string) ([]string, error) {
	if role != okr.RoleMember && role != okr.RoleLead {
		return nil, fmt.Errorf("storage: add members: %w", okr.FieldErrorf("role", "A role is member or lead."))
	}
	// A row may be affected once per statement: drop repeats and blanks.
	seen := make(map[string]bool, len(userIDs))
	ids := make([]string, 0, len(userIDs))
	for _, id := range userIDs {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return []string{}, nil
	}
	var changed []string
	err := s.db.SelectContext(ctx, &changed, `
		INSERT INTO team_members (team_id, user_id, role, added_by, added_at)
		SELECT $1, u.user_id, $3, $4, $5
		FROM unnest(CAST($2 AS text[])) AS u (user_id)
		ON CONFLICT (team_id, user_id) DO UPDATE
			SET role = EXCLUDED.role
			WHERE team_members.role = 'member' AND EXCLUDED.role = 'lead'
		RETURNING user_id`,
		teamID, pq.Array(ids), role, by, s.now())
	if err != nil {
		return nil, fmt.Errorf("storage: add members: %w", mapError(err, ""))
	}
	did := make(map[string]bool, len(changed))
	for _, id := range changed {
		did[id] = true
	}
	out := make([]string, 0, len(changed))
	for _, id := range ids {
		if did[id] {
			out = append(out, id)
		}
	}
	return out, nil
}

// TeamMembers returns a team's members: leads first, then everyone in the
// order they were added.
func (s *Store) TeamMembers(ctx context.Context, teamID int64) ([]okr.Member, error) {
	members := []okr.Member{}
	err := s.db.SelectContext(ctx, &members, `
		SELECT team_id, user_id, role, added_by, added_at
		FROM team_members
		WHERE team_id = $1
		ORDER BY role = 'lead' DESC, added_at, user_id`, teamID)
	if err != nil {
		return nil, fmt.Errorf("storage: team members: %w", err)
	}
	return members, nil
}
