"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 20:39:18.396327
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('area_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('entity', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('entity_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_area_at', ['area_id', 'at'], unique=False)

    op.create_table('ml_model',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('version', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('file_path', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ml_model', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ml_model_name'), ['name'], unique=True)

    op.create_table('protected_area',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('name_vi', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('province', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('boundary', sa.JSON(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('protected_area', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_protected_area_code'), ['code'], unique=True)

    op.create_table('sync_change',
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('area_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('entity', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('record_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('op', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    with op.batch_alter_table('sync_change', schema=None) as batch_op:
        batch_op.create_index('ix_sync_change_area_seq', ['area_id', 'seq'], unique=False)

    op.create_table('sync_mutation',
    sa.Column('mutation_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('device_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('mutation_id')
    )
    op.create_table('taxon',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('scientific_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('rank', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('vietnamese_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('english_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('taxon_group', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('parent_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('iucn_category', sqlmodel.sql.sqltypes.AutoString(length=4), nullable=True),
    sa.Column('vn_redlist_category', sqlmodel.sql.sqltypes.AutoString(length=4), nullable=True),
    sa.Column('decree84_group', sqlmodel.sql.sqltypes.AutoString(length=4), nullable=True),
    sa.Column('sensitive', sa.Boolean(), nullable=False),
    sa.Column('search_text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['taxon.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('taxon', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_taxon_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_taxon_scientific_name'), ['scientific_name'], unique=True)

    op.create_table('upload',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('offset', sa.Integer(), nullable=False),
    sa.Column('file_name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('media_type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('media_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('completed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_upload_sha256'), ['sha256'], unique=False)

    op.create_table('user',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('full_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_username'), ['username'], unique=True)

    op.create_table('device_token',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('device_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('prefix', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('device_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_token_token_hash'), ['token_hash'], unique=True)
        batch_op.create_index(batch_op.f('ix_device_token_user_id'), ['user_id'], unique=False)

    op.create_table('job',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('area_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('lease_owner', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('lease_expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('progress_done', sa.Integer(), nullable=False),
    sa.Column('progress_total', sa.Integer(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('failures', sa.JSON(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['area_id'], ['protected_area.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_area_id'), ['area_id'], unique=False)
        batch_op.create_index('ix_job_status_created', ['status', 'created_at'], unique=False)

    op.create_table('location',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('area_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('coordinate_uncertainty', sa.Integer(), nullable=True),
    sa.Column('elevation', sa.Float(), nullable=True),
    sa.Column('habitat', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['protected_area.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('area_id', 'name')
    )
    with op.batch_alter_table('location', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_location_area_id'), ['area_id'], unique=False)

    op.create_table('membership',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('area_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['protected_area.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'area_id')
    )
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_membership_area_id'), ['area_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_membership_user_id'), ['user_id'], unique=False)

    op.create_table('program',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('area_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('protocol', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('season', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('sequence_gap_s', sa.Integer(), nullable=False),
    sa.Column('capture_method', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['protected_area.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('area_id', 'name')
    )
    with op.batch_alter_table('program', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_program_area_id'), ['area_id'], unique=False)

    op.create_table('sync_conflict',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('area_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('entity', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('record_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('base_revision', sa.Integer(), nullable=False),
    sa.Column('server_revision', sa.Integer(), nullable=False),
    sa.Column('server_version', sa.JSON(), nullable=False),
    sa.Column('client_version', sa.JSON(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('client_user', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('client_device', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('server_user', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('resolution', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('resolved_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('resolved_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['protected_area.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sync_conflict', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_conflict_area_id'), ['area_id'], unique=False)

    op.create_table('deployment',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('program_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('location_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('deployment_start', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('deployment_end', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('clock_offset_s', sa.Integer(), nullable=False),
    sa.Column('camera_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('camera_model', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('camera_delay', sa.Integer(), nullable=True),
    sa.Column('camera_height', sa.Float(), nullable=True),
    sa.Column('camera_depth', sa.Float(), nullable=True),
    sa.Column('camera_tilt', sa.Integer(), nullable=True),
    sa.Column('camera_heading', sa.Integer(), nullable=True),
    sa.Column('detection_distance', sa.Float(), nullable=True),
    sa.Column('timestamp_issues', sa.Boolean(), nullable=False),
    sa.Column('bait_use', sa.Boolean(), nullable=False),
    sa.Column('feature_type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('habitat', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('setup_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('sd_card', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('deployment_groups', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('deployment_tags', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('deployment_comments', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], ),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('deployment', schema=None) as batch_op:
        batch_op.create_index('ix_deployment_camera_window', ['camera_id', 'deployment_start'], unique=False)
        batch_op.create_index(batch_op.f('ix_deployment_location_id'), ['location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deployment_program_id'), ['program_id'], unique=False)

    op.create_table('transect',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('area_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('program_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('length_m', sa.Float(), nullable=True),
    sa.Column('geometry', sa.JSON(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['protected_area.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('transect', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transect_area_id'), ['area_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transect_program_id'), ['program_id'], unique=False)

    op.create_table('operating_interval',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('deployment_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('start', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('end', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployment.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('operating_interval', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_operating_interval_deployment_id'), ['deployment_id'], unique=False)

    op.create_table('sequence',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('deployment_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('event_start', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('event_end', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('media_count', sa.Integer(), nullable=False),
    sa.Column('review_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reviewed_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('reviewed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployment.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sequence', schema=None) as batch_op:
        batch_op.create_index('ix_sequence_deployment_start', ['deployment_id', 'event_start'], unique=False)

    op.create_table('survey_walk',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('program_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('transect_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('ended_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('observers', sa.JSON(), nullable=False),
    sa.Column('weather', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('track', sa.JSON(), nullable=False),
    sa.Column('distance_m', sa.Float(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('device_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['user.id'], ),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['transect_id'], ['transect.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('survey_walk', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_walk_program_id'), ['program_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_walk_transect_id'), ['transect_id'], unique=False)

    op.create_table('field_observation',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('program_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('walk_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('protocol', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('record_type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('taxon_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('unidentified', sa.Boolean(), nullable=False),
    sa.Column('sign_type', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('count', sa.Integer(), nullable=True),
    sa.Column('distance_m', sa.Float(), nullable=True),
    sa.Column('bearing_deg', sa.Float(), nullable=True),
    sa.Column('perpendicular_distance_m', sa.Float(), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('observed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('habitat', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('photos', sa.JSON(), nullable=False),
    sa.Column('media_pending', sa.Boolean(), nullable=False),
    sa.Column('device_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['user.id'], ),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['taxon_id'], ['taxon.id'], ),
    sa.ForeignKeyConstraint(['walk_id'], ['survey_walk.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('field_observation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_field_observation_program_id'), ['program_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_field_observation_taxon_id'), ['taxon_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_field_observation_walk_id'), ['walk_id'], unique=False)

    op.create_table('media',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('deployment_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('sequence_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('file_name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('file_path', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('media_type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('storage_key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('captured_at_raw', sa.DateTime(), nullable=True),
    sa.Column('captured_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('utc_offset_min', sa.Integer(), nullable=True),
    sa.Column('timestamp_source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('orientation', sa.Integer(), nullable=True),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('sample_rate', sa.Integer(), nullable=True),
    sa.Column('channels', sa.Integer(), nullable=True),
    sa.Column('camera_make', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('camera_model', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('camera_serial', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('capture_method', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('has_derivatives', sa.Boolean(), nullable=False),
    sa.Column('contains_person', sa.Boolean(), nullable=False),
    sa.Column('favorite', sa.Boolean(), nullable=False),
    sa.Column('media_comments', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployment.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sequence_id'], ['sequence.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_media_captured_at'), ['captured_at'], unique=False)
        batch_op.create_index('ix_media_deployment_time', ['deployment_id', 'captured_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_media_sequence_id'), ['sequence_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_media_sha256'), ['sha256'], unique=True)

    op.create_table('acoustic_index',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('media_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('minute', sa.Integer(), nullable=False),
    sa.Column('start_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('aci', sa.Float(), nullable=True),
    sa.Column('adi', sa.Float(), nullable=True),
    sa.Column('aei', sa.Float(), nullable=True),
    sa.Column('bi', sa.Float(), nullable=True),
    sa.Column('ndsi', sa.Float(), nullable=True),
    sa.Column('h', sa.Float(), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['media_id'], ['media.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('acoustic_index', schema=None) as batch_op:
        batch_op.create_index('ix_acoustic_index_media_minute', ['media_id', 'minute'], unique=True)

    op.create_table('detection',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('media_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('bbox_x', sa.Float(), nullable=True),
    sa.Column('bbox_y', sa.Float(), nullable=True),
    sa.Column('bbox_width', sa.Float(), nullable=True),
    sa.Column('bbox_height', sa.Float(), nullable=True),
    sa.Column('start_s', sa.Float(), nullable=True),
    sa.Column('end_s', sa.Float(), nullable=True),
    sa.Column('freq_low_hz', sa.Float(), nullable=True),
    sa.Column('freq_high_hz', sa.Float(), nullable=True),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('label_confidence', sa.Float(), nullable=True),
    sa.Column('taxon_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('dismissed', sa.Boolean(), nullable=False),
    sa.Column('review_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['media_id'], ['media.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['taxon_id'], ['taxon.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('detection', schema=None) as batch_op:
        batch_op.create_index('ix_detection_media_model', ['media_id', 'model'], unique=False)

    op.create_table('alert',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('area_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('deployment_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('media_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('detection_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('occurred_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('acknowledged_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('acknowledged_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['protected_area.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployment.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['detection_id'], ['detection.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['media_id'], ['media.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_area_id'), ['area_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_deployment_id'), ['deployment_id'], unique=False)

    op.create_table('observation',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('deployment_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('media_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('sequence_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('detection_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('event_start', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('event_end', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('observation_level', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('observation_type', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('taxon_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('count', sa.Integer(), nullable=True),
    sa.Column('life_stage', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('sex', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('behavior', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('individual_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('bbox_x', sa.Float(), nullable=True),
    sa.Column('bbox_y', sa.Float(), nullable=True),
    sa.Column('bbox_width', sa.Float(), nullable=True),
    sa.Column('bbox_height', sa.Float(), nullable=True),
    sa.Column('classification_method', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('classified_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('classification_timestamp', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('classification_probability', sa.Float(), nullable=True),
    sa.Column('observation_tags', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('observation_comments', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployment.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['detection_id'], ['detection.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['media_id'], ['media.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sequence_id'], ['sequence.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['taxon_id'], ['taxon.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('observation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_observation_deployment_id'), ['deployment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_observation_media_id'), ['media_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_observation_sequence_id'), ['sequence_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_observation_taxon_id'), ['taxon_id'], unique=False)




def downgrade() -> None:
    with op.batch_alter_table('observation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_observation_taxon_id'))
        batch_op.drop_index(batch_op.f('ix_observation_sequence_id'))
        batch_op.drop_index(batch_op.f('ix_observation_media_id'))
        batch_op.drop_index(batch_op.f('ix_observation_deployment_id'))

    op.drop_table('observation')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_deployment_id'))
        batch_op.drop_index(batch_op.f('ix_alert_area_id'))

    op.drop_table('alert')
    with op.batch_alter_table('detection', schema=None) as batch_op:
        batch_op.drop_index('ix_detection_media_model')

    op.drop_table('detection')
    with op.batch_alter_table('acoustic_index', schema=None) as batch_op:
        batch_op.drop_index('ix_acoustic_index_media_minute')

    op.drop_table('acoustic_index')
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_media_sha256'))
        batch_op.drop_index(batch_op.f('ix_media_sequence_id'))
        batch_op.drop_index('ix_media_deployment_time')
        batch_op.drop_index(batch_op.f('ix_media_captured_at'))

    op.drop_table('media')
    with op.batch_alter_table('field_observation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_field_observation_walk_id'))
        batch_op.drop_index(batch_op.f('ix_field_observation_taxon_id'))
        batch_op.drop_index(batch_op.f('ix_field_observation_program_id'))

    op.drop_table('field_observation')
    with op.batch_alter_table('survey_walk', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_walk_transect_id'))
        batch_op.drop_index(batch_op.f('ix_survey_walk_program_id'))

    op.drop_table('survey_walk')
    with op.batch_alter_table('sequence', schema=None) as batch_op:
        batch_op.drop_index('ix_sequence_deployment_start')

    op.drop_table('sequence')
    with op.batch_alter_table('operating_interval', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_operating_interval_deployment_id'))

    op.drop_table('operating_interval')
    with op.batch_alter_table('transect', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transect_program_id'))
        batch_op.drop_index(batch_op.f('ix_transect_area_id'))

    op.drop_table('transect')
    with op.batch_alter_table('deployment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deployment_program_id'))
        batch_op.drop_index(batch_op.f('ix_deployment_location_id'))
        batch_op.drop_index('ix_deployment_camera_window')

    op.drop_table('deployment')
    with op.batch_alter_table('sync_conflict', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_conflict_area_id'))

    op.drop_table('sync_conflict')
    with op.batch_alter_table('program', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_program_area_id'))

    op.drop_table('program')
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_membership_user_id'))
        batch_op.drop_index(batch_op.f('ix_membership_area_id'))

    op.drop_table('membership')
    with op.batch_alter_table('location', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_location_area_id'))

    op.drop_table('location')
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index('ix_job_status_created')
        batch_op.drop_index(batch_op.f('ix_job_area_id'))

    op.drop_table('job')
    with op.batch_alter_table('device_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_token_user_id'))
        batch_op.drop_index(batch_op.f('ix_device_token_token_hash'))

    op.drop_table('device_token')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_username'))

    op.drop_table('user')
    with op.batch_alter_table('upload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_upload_sha256'))

    op.drop_table('upload')
    with op.batch_alter_table('taxon', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_taxon_scientific_name'))
        batch_op.drop_index(batch_op.f('ix_taxon_parent_id'))

    op.drop_table('taxon')
    op.drop_table('sync_mutation')
    with op.batch_alter_table('sync_change', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_change_area_seq')

    op.drop_table('sync_change')
    with op.batch_alter_table('protected_area', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_protected_area_code'))

    op.drop_table('protected_area')
    with op.batch_alter_table('ml_model', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ml_model_name'))

    op.drop_table('ml_model')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_area_at')

    op.drop_table('audit_log')

